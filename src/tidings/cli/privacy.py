"""`tidings block`, `unblock`, `blocked` and `tidings requests ...` (issue 20).

Everything shown here came from other people: it is printed as plain text (no markup,
no hyperlinks), and control characters are replaced visibly.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from tidings.cli.common import JsonOpt, ProfileOpt, ServerOpt, console, emit, profile_dir, run
from tidings.cli.messages import passphrase
from tidings.client.messaging import Messenger
from tidings.client.privacy import Privacy
from tidings.client.sdk import TidingsClient
from tidings.protocol.safe_text import safe_text

requests_app = typer.Typer(help="Message requests: first messages from people you have not "
                                "written to. Nothing goes back to them until you accept.",
                           no_args_is_help=False, invoke_without_command=True)


def plain(text: str) -> str:
    """Untrusted text for the terminal: control, escape and bidi characters replaced
    visibly (protocol/safe_text.py); printed with ``markup=False``."""
    return safe_text(text)


async def _with(profile: Any, server: Any, op: Any) -> Any:
    secret = passphrase()
    async with TidingsClient.from_profile(profile_dir(profile), server) as client:
        return await op(Privacy(Messenger.open(client, secret)))


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def block(user: str, server: ServerOpt = None, profile: ProfileOpt = None,
          json_out: JsonOpt = False) -> None:
    """Block USER: their messages, group invitations and typing never reach you. They are
    not told, and the server answers them exactly as before."""
    run(_with(profile, server, lambda p: p.block(user)))
    emit(json_out, {"blocked": user.strip().lower()},
         lambda r: console.print(f"blocked {plain(r['blocked'])}", markup=False,
                                 highlight=False))


def unblock(user: str, server: ServerOpt = None, profile: ProfileOpt = None,
            json_out: JsonOpt = False) -> None:
    """Unblock USER; their next message is a message request again."""
    run(_with(profile, server, lambda p: p.unblock(user)))
    emit(json_out, {"unblocked": user.strip().lower()},
         lambda r: console.print(f"unblocked {plain(r['unblocked'])}", markup=False,
                                 highlight=False))


def blocked(server: ServerOpt = None, profile: ProfileOpt = None,
            json_out: JsonOpt = False) -> None:
    """List the accounts you blocked (only you can see this list)."""
    result = run(_with(profile, server, lambda p: p.blocked()))

    def human(rows: list[dict[str, Any]]) -> None:
        if not rows:
            console.print("nobody is blocked")
        for row in rows:
            console.print(f"{plain(row['user'])}  since {_when(row['since'])}", markup=False,
                          highlight=False)

    emit(json_out, result, human)


@requests_app.callback()
def requests_list(ctx: typer.Context, server: ServerOpt = None, profile: ProfileOpt = None,
                  json_out: JsonOpt = False) -> None:
    """List message requests and their messages (links are not made clickable)."""
    if ctx.invoked_subcommand is not None:
        return
    result = run(_with(profile, server, lambda p: p.requests()))

    def human(rows: list[dict[str, Any]]) -> None:
        if not rows:
            console.print("no message requests")
        for row in rows:
            console.print(f"request from {plain(row['user'])} (since {_when(row['since'])})",
                          markup=False, highlight=False)
            for m in row["messages"]:
                console.print(f"  {_when(m['ts'])}  {plain(m['text'])}", markup=False,
                              highlight=False)
        if rows:
            console.print("tidings requests accept|delete|block USER", markup=False)

    emit(json_out, result, human)


@requests_app.command("accept")
def accept(user: str, server: ServerOpt = None, profile: ProfileOpt = None,
           json_out: JsonOpt = False) -> None:
    """Accept USER's request: replies, receipts and typing may flow from now on."""
    run(_with(profile, server, lambda p: p.accept(user)))
    emit(json_out, {"accepted": user.strip().lower()},
         lambda r: console.print(f"accepted {plain(r['accepted'])}", markup=False))


@requests_app.command("delete")
def delete(user: str, server: ServerOpt = None, profile: ProfileOpt = None,
           json_out: JsonOpt = False) -> None:
    """Delete USER's request and its messages on this device (they are not told)."""
    gone = run(_with(profile, server, lambda p: p.delete(user)))
    emit(json_out, {"deleted": user.strip().lower(), "messages": gone},
         lambda r: console.print(f"deleted the request from {plain(r['deleted'])} "
                                 f"({r['messages']} messages)", markup=False))


@requests_app.command("block")
def report_and_block(user: str, category: Annotated[str, typer.Option(
                         help="Report category: spam, harassment, illegal, ...")] = "spam",
                     server: ServerOpt = None, profile: ProfileOpt = None,
                     json_out: JsonOpt = False) -> None:
    """Report the request's messages (verifiable, with their franking data) and block USER,
    in one step."""
    reports = run(_with(profile, server, lambda p: p.report_and_block(user, category)))
    emit(json_out, {"blocked": user.strip().lower(), "reports": reports},
         lambda r: console.print(f"reported {len(r['reports'])} message(s) and blocked "
                                 f"{plain(r['blocked'])}", markup=False))

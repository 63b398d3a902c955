"""`tidings report ...`, `tidings mod ...`, `tidings appeal` and `tidings notices`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tidings.cli.common import (
    JsonOpt,
    ProfileOpt,
    ServerOpt,
    cell,
    console,
    emit,
    profile_dir,
    run,
    show,
)
from tidings.cli.messages import passphrase
from tidings.client import report_requests as rr
from tidings.client import staff_requests as sr
from tidings.client.attachments import disclosures
from tidings.client.messaging import Messenger
from tidings.client.requests import Request
from tidings.client.sdk import TidingsClient

report_app = typer.Typer(help="Report a private message or a channel post (DSA Art. 16).",
                         no_args_is_help=True)
mod_app = typer.Typer(help="The review queue, for moderators.", no_args_is_help=True)
flagger_app = typer.Typer(help="Trusted flaggers (DSA Art. 22): their reports come first.",
                          no_args_is_help=True)
mod_app.add_typer(flagger_app, name="flagger")

CategoryOpt = Annotated[str, typer.Option(
    "--category", help="terrorist_content, violent_extremism, illegal, spam, impersonation, "
                       "harassment or other.")]
ExplainOpt = Annotated[str, typer.Option(
    "--explanation", help="Why the content is illegal or against the terms.")]


def _ack(r: dict[str, Any]) -> None:
    verified = " (verified)" if r.get("verified") else ""
    console.print(f"report {r['id']} received{verified}; case {r['case_id']}")


@report_app.command("message")
def report_message(message_id: str, category: CategoryOpt,
                   explanation: ExplainOpt = "Reported from the command line.",
                   context: Annotated[int, typer.Option(
                       help="Also send up to this many earlier messages (max 5).")] = 0,
                   disclose: Annotated[bool, typer.Option(
                       "--disclose", help="Also show the moderators the files attached to "
                                          "these messages (decrypted on this device).")
                   ] = False,
                   server: ServerOpt = None, profile: ProfileOpt = None,
                   json_out: JsonOpt = False) -> None:
    """Report a received private message; its franking data lets the server verify it."""
    secret = passphrase()

    async def go() -> dict[str, Any]:
        async with TidingsClient.from_profile(profile_dir(profile), server) as client:
            messenger = Messenger.open(client, secret)
            inbox = messenger.crypto.reportable()
            item, earlier = rr.pick(inbox, message_id, context)
            shown = await disclosures(messenger, [item, *earlier]) if disclose else {}
            result: dict[str, Any] = await client.call(rr.message_report(
                inbox, message_id, category, explanation, context, shown))
            return result

    emit(json_out, run(go()), _ack)


@report_app.command("post")
def report_post(handle: Annotated[str, typer.Argument(
                    help="the channel's handle, or the post's URL (/c/HANDLE/N)")],
                category: CategoryOpt,
                number: Annotated[int | None, typer.Argument(
                    help="the post's number in the channel")] = None,
                explanation: ExplainOpt = "Reported from the command line.",
                server: ServerOpt = None, profile: ProfileOpt = None,
                json_out: JsonOpt = False) -> None:
    """Report a channel post: HANDLE N, or its URL /c/HANDLE/N."""
    if number is None and "/" not in handle:
        raise typer.BadParameter("give the post's number after the handle, or its URL "
                                 "/c/HANDLE/N")

    async def go() -> dict[str, Any]:
        request = (rr.post_report(handle, number, category, explanation) if number is not None
                   else rr.url_report(handle, category, explanation))
        async with TidingsClient.from_profile(profile_dir(profile), server) as client:
            result: dict[str, Any] = await client.call(request)
            return result

    emit(json_out, run(go()), _ack)


@report_app.command("status")
def report_status(report_id: int, server: ServerOpt = None, profile: ProfileOpt = None,
                  json_out: JsonOpt = False) -> None:
    """The status and outcome of one of your reports."""

    async def go() -> dict[str, Any]:
        async with TidingsClient.from_profile(profile_dir(profile), server) as client:
            result: dict[str, Any] = await client.call(rr.report_status(report_id))
            return result

    emit(json_out, run(go()), lambda r: show(
        f"report {r['id']}: {r['status']}" + (f" — {r['outcome']}" if r["outcome"] else "")))


@mod_app.command("queue")
def queue(kind: Annotated[str | None, typer.Option(help="post, channel, account, message")
                          ] = None,
          source: Annotated[str | None, typer.Option(help="e.g. trusted_flagger")] = None,
          server: ServerOpt = None, profile: ProfileOpt = None, json_out: JsonOpt = False
          ) -> None:
    """Cases waiting for review, most urgent first."""

    async def go() -> list[dict[str, Any]]:
        async with TidingsClient.from_profile(profile_dir(profile), server) as client:
            result: list[dict[str, Any]] = await client.call(rr.queue(kind, source))
            return result

    def human(cases: list[dict[str, Any]]) -> None:
        table = Table("case", "target", "source", "state", "reports", "holds")
        for c in cases:
            table.add_row(cell(c["id"]), cell(f"{c['target']['kind']} {c['target']['ref']}"),
                          cell(c["source"]), cell(c["state"]), str(c["report_count"]),
                          str(c["hold_count"]))
        console.print(table)

    emit(json_out, run(go()), human)


@mod_app.command("decide")
def decide(case_id: str,
           action: Annotated[str, typer.Option(
               "--action", help="remove, ban_channel, suspend_account, no_violation, "
                                "escalate; for appeals: uphold or reverse")],
           policy: Annotated[str, typer.Option(
               "--policy", help="terrorist_content, other_illegal, violent_extremism, "
                                "harassment, spam, ban_evasion, impersonation or other, or "
                                "the report's category (illegal, ...)")] = "other",
           note: Annotated[str, typer.Option(
               help="Facts for the statement of reasons, or the answer to an appeal.")] = "",
           server: ServerOpt = None, profile: ProfileOpt = None, json_out: JsonOpt = False
           ) -> None:
    """Decide a case (claiming it), or an appeal with --action uphold/reverse."""

    async def go() -> dict[str, Any]:
        async with TidingsClient.from_profile(profile_dir(profile), server) as client:
            request = (rr.decide_appeal(case_id, action, note)
                       if action in ("uphold", "reverse")
                       else rr.decide(case_id, action, policy, note))
            result: dict[str, Any] = await client.call(request)
            return result

    emit(json_out, run(go()), lambda c: console.print(f"case {c['id']}: {c['state']}"))


def appeal(case_id: str, text: Annotated[str, typer.Option("--text", help="Why it was wrong.")],
           server: ServerOpt = None, profile: ProfileOpt = None,
           json_out: JsonOpt = False) -> None:
    """Appeal a decision about your content or account (within six months)."""

    async def go() -> dict[str, Any]:
        async with TidingsClient.from_profile(profile_dir(profile), server) as client:
            result: dict[str, Any] = await client.call(rr.appeal(case_id, text))
            return result

    emit(json_out, run(go()), lambda r: show(r["message"]))


def notices(server: ServerOpt = None, profile: ProfileOpt = None,
            json_out: JsonOpt = False) -> None:
    """Your system inbox: statements of reasons, report outcomes, appeal answers."""

    async def go() -> list[dict[str, Any]]:
        async with TidingsClient.from_profile(profile_dir(profile), server) as client:
            result: list[dict[str, Any]] = await client.call(rr.notices())
            return result

    def human(items: list[dict[str, Any]]) -> None:
        for n in items:
            text = (n.get("statement", {}).get("text") or n.get("outcome")
                    or n.get("answer") or "")
            show((str(n["kind"]), "bold"), f" case {n['case_id']}\n", text, "\n")

    emit(json_out, run(go()), human)


def _mod_call(server: str | None, profile: Path | None, request: Request) -> Any:
    async def go() -> Any:
        async with TidingsClient.from_profile(profile_dir(profile), server) as client:
            return await client.call(request)

    return run(go())


def _lease(c: dict[str, Any]) -> None:
    holder = c.get("lease_holder")
    show(f"case {c['id']}: {c['state']}" + (f", claimed by {holder}" if holder else
                                             ", not claimed"))


@mod_app.command("show")
def show_case(case_id: str, server: ServerOpt = None, profile: ProfileOpt = None,
              json_out: JsonOpt = False) -> None:
    """One case: target, content, matches, reports, history and any statement."""

    def human(c: dict[str, Any]) -> None:
        show((f"case {c['id']}", "bold"), f"  {c['target']['kind']} {c['target']['ref']}  "
             f"{c['state']}  source {c['source']}  policy {c['policy'] or '-'}")
        content = c.get("content") or {}
        if content.get("text"):
            show(("content: ", "dim"), content["text"],
                 f"  [{len(content['media'])} media]" if content.get("media") else "")
        if c.get("affected_user"):
            show(f"affected account: {c['affected_user']}")
        if c.get("lease_holder"):
            show(f"claimed by {c['lease_holder']}")
        for m in c["matches"]:
            show(f"match: bank {m.get('bank')} {m.get('signal_type')} "
                 f"entry {m.get('entry_id')} labels {', '.join(m.get('labels', []))}")
        for r in c["reports"]:
            show(f"report {r['id']} ({r['category']}, {r['source']}"
                 + (", verified" if r["verified"] else "") + "): ", r["explanation"])
            for msg in r["messages"]:
                show("  ", f"{msg['sender']}: ", msg["text"] or "")
        for h in c["history"]:
            show(("earlier: ", "dim"), f"case {h['id']} {h['state']} {h['policy'] or ''}")
        if c.get("statement"):
            show(("statement: ", "dim"), str(c["statement"].get("text", "")))

    emit(json_out, _mod_call(server, profile, rr.case(case_id)), human)


@mod_app.command("claim")
def claim(case_id: str,
          lease: Annotated[int | None, typer.Option(
              "--lease", min=1, help="Hold it this many seconds (server default 15 min).")
          ] = None,
          server: ServerOpt = None, profile: ProfileOpt = None,
          json_out: JsonOpt = False) -> None:
    """Take a case's lease, so no other moderator decides it meanwhile."""
    emit(json_out, _mod_call(server, profile, rr.claim(case_id, lease)), _lease)


@mod_app.command("release")
def release(case_id: str, server: ServerOpt = None, profile: ProfileOpt = None,
            json_out: JsonOpt = False) -> None:
    """Give a claimed case back to the queue."""
    emit(json_out, _mod_call(server, profile, rr.release(case_id)), _lease)


@mod_app.command("release-held")
def release_held(post: Annotated[int, typer.Argument(metavar="POST")],
                 server: ServerOpt = None, profile: ProfileOpt = None,
                 json_out: JsonOpt = False) -> None:
    """Publish a post held for review (no violation found)."""
    emit(json_out, _mod_call(server, profile, sr.release_held(post)),
         lambda r: show(f"post {post} released"))


@mod_app.command("remove-post")
def remove_post(post: Annotated[int, typer.Argument(metavar="POST")],
                label: Annotated[list[str] | None, typer.Option(
                    "--label", "-l", help="Why, as a taxonomy label (repeatable; default "
                    "category:terrorist_content). Its signals are banked under it.")] = None,
                held: Annotated[bool, typer.Option(
                    "--held", help="The post is held for review, not yet visible.")] = False,
                server: ServerOpt = None, profile: ProfileOpt = None,
                json_out: JsonOpt = False) -> None:
    """Remove a post: hidden everywhere, its signals banked, a statement of reasons sent."""
    emit(json_out, _mod_call(server, profile, sr.remove_post(post, label or (), held=held)),
         lambda r: show(f"post {post} removed"))


@flagger_app.command("list")
def flagger_list(server: ServerOpt = None, profile: ProfileOpt = None,
                 json_out: JsonOpt = False) -> None:
    """The accounts with trusted-flagger status and since when (staff)."""

    def human(items: list[dict[str, Any]]) -> None:
        table = Table("trusted flagger", "since")
        for f in items:
            table.add_row(cell(f["username"]), day(f["since"]))
        console.print(table)

    emit(json_out, _mod_call(server, profile, sr.trusted_flaggers()), human)


@flagger_app.command("add")
def flagger_add(username: str, server: ServerOpt = None, profile: ProfileOpt = None,
                json_out: JsonOpt = False) -> None:
    """Give an account trusted-flagger status (admins): its reports are reviewed first."""
    emit(json_out, _mod_call(server, profile, sr.trusted_flagger(username, True)),
         lambda r: show(f"{r['username']} is a trusted flagger"))


@flagger_app.command("remove")
def flagger_remove(username: str, server: ServerOpt = None, profile: ProfileOpt = None,
                   json_out: JsonOpt = False) -> None:
    """Take an account's trusted-flagger status away (admins)."""
    emit(json_out, _mod_call(server, profile, sr.trusted_flagger(username, False)),
         lambda r: show(f"{r['username']} is no longer a trusted flagger"))


def day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")

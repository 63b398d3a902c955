"""`tidings report ...`, `tidings mod ...`, `tidings appeal` and `tidings notices`."""

from __future__ import annotations

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
from tidings.client.attachments import disclosures
from tidings.client.messaging import Messenger
from tidings.client.sdk import TidingsClient

report_app = typer.Typer(help="Report a private message or a channel post (DSA Art. 16).",
                         no_args_is_help=True)
mod_app = typer.Typer(help="The review queue, for moderators.", no_args_is_help=True)

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

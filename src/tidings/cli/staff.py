"""`tidings rules ...`, `tidings job show` and `tidings webhook ...`: operator work over the
API, from a staff profile (``tidings account login`` as an admin or moderator first).

Unlike ``tidings admin ...`` these need no access to the server's data directory.
"""

from __future__ import annotations

from enum import StrEnum
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
    fail,
    profile_dir,
    run,
    show,
)
from tidings.client import staff_requests as sr
from tidings.client.requests import Request
from tidings.client.sdk import TidingsClient

rules_app = typer.Typer(help="The moderation rules (admins): show and replace them.",
                        no_args_is_help=True)
job_app = typer.Typer(help="Background jobs (staff): list them, show one's progress.",
                      no_args_is_help=True)
webhook_app = typer.Typer(help="Webhook endpoints for moderation events (admins).",
                          no_args_is_help=True)

class JobState(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


OutOpt = Annotated[Path | None, typer.Option(
    "--out", help="Write to this file instead of standard output.", dir_okay=False)]


async def call(server: str | None, profile: Path | None, request: Request) -> Any:
    """One API call from the profile's logged-in device."""
    async with TidingsClient.from_profile(profile_dir(profile), server) as client:
        return await client.call(request)


def _rules_summary(r: dict[str, Any]) -> None:
    show(f"rules version {r['version']} ({r['source']}), hash {r['content_hash'][:16]}, "
         f"{len(r['rules'])} rules: {', '.join(r['rules'])}")


@rules_app.command("get")
def rules_get(out: OutOpt = None, server: ServerOpt = None, profile: ProfileOpt = None,
              json_out: JsonOpt = False) -> None:
    """The active rules: their TOML (or, with --json, version, hash, source and names)."""
    result: dict[str, Any] = run(call(server, profile, sr.rules()))
    if out is not None:
        out.write_text(result["text"], encoding="utf-8")

        def written(r: dict[str, Any]) -> None:
            _rules_summary(r)
            show(f"written to {out}")

        emit(json_out, {**result, "out": str(out)}, written)
        return
    emit(json_out, result, lambda r: show(r["text"]))


@rules_app.command("set")
def rules_set(file: Annotated[Path, typer.Argument(
                  help="The new rules, as TOML.", exists=True, dir_okay=False, readable=True)],
              server: ServerOpt = None, profile: ProfileOpt = None,
              json_out: JsonOpt = False) -> None:
    """Replace the rules. The server validates them first: an error names the rule and
    key at fault, and nothing changes."""
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        fail(f"{file} is not UTF-8 text", "invalid_rules")
    emit(json_out, run(call(server, profile, sr.put_rules(text))), _rules_summary)


@job_app.command("list")
def job_list(state: Annotated[JobState | None, typer.Option(help="Only jobs in this state.")
                              ] = None,
             kind: Annotated[str | None, typer.Option(
                 help="Only jobs of this kind, e.g. retro_scan.")] = None,
             limit: Annotated[int, typer.Option(min=1, max=100)] = 50,
             server: ServerOpt = None, profile: ProfileOpt = None,
             json_out: JsonOpt = False) -> None:
    """The newest background jobs: find the one that failed or is stuck."""
    request = sr.jobs(state.value if state else None, kind, limit)

    def human(r: dict[str, Any]) -> None:
        table = Table("job", "kind", "state", "attempts", "progress", "error")
        for j in r["jobs"]:
            p = j["progress"]
            table.add_row(str(j["id"]), cell(j["kind"]), cell(j["state"]),
                          f"{j['attempts']}/{j['max_attempts']}",
                          f"{p['done']}/{p['total'] if p['total'] is not None else '?'}",
                          cell(j["error"] or ""))
        console.print(table)

    emit(json_out, run(call(server, profile, request)), human)


@job_app.command("show")
def job_show(job_id: int, server: ServerOpt = None, profile: ProfileOpt = None,
             json_out: JsonOpt = False) -> None:
    """A background job: kind, state, attempts, progress, result or error."""

    def human(j: dict[str, Any]) -> None:
        p = j["progress"]
        total = p["total"] if p["total"] is not None else "?"
        show(f"job {j['id']} {j['kind']}: {j['state']} (attempt {j['attempts']} of "
             f"{j['max_attempts']}), {p['done']}/{total}")
        if j["result"]:
            show(f"result: {j['result']}")
        if j["error"]:
            show(("error: ", "red"), str(j["error"]))

    emit(json_out, run(call(server, profile, sr.job(job_id))), human)


@webhook_app.command("list")
def webhook_list(server: ServerOpt = None, profile: ProfileOpt = None,
                 json_out: JsonOpt = False) -> None:
    """The endpoints (never their secrets) and the events an endpoint can ask for."""

    def human(r: dict[str, Any]) -> None:
        table = Table("id", "url", "events", "enabled", "description")
        for e in r["endpoints"]:
            table.add_row(str(e["id"]), cell(e["url"]), cell(", ".join(e["events"])),
                          "yes" if e["enabled"] else "no", cell(e["description"]))
        console.print(table)
        show("events: ", ", ".join(r["events"]))

    emit(json_out, run(call(server, profile, sr.webhooks())), human)


@webhook_app.command("add")
def webhook_add(url: str,
                event: Annotated[list[str], typer.Option(
                    "--event", help="An event to send (repeatable); `webhook list` names "
                                    "them.")],
                description: Annotated[str, typer.Option(help="What it is for.")] = "",
                server: ServerOpt = None, profile: ProfileOpt = None,
                json_out: JsonOpt = False) -> None:
    """Register an endpoint; its signing secret is shown once: store it now."""
    result = run(call(server, profile, sr.create_webhook(url, event, description)))
    emit(json_out, result, lambda e: show(
        f"webhook {e['id']} -> ", e["url"], f"\nsigning secret (shown once): {e['secret']}"))


@webhook_app.command("remove")
def webhook_remove(endpoint_id: int, server: ServerOpt = None, profile: ProfileOpt = None,
                   json_out: JsonOpt = False) -> None:
    """Stop sending to an endpoint and forget its delivery log."""
    run(call(server, profile, sr.delete_webhook(endpoint_id)))
    emit(json_out, {"removed": endpoint_id}, lambda _: show(f"webhook {endpoint_id} removed"))


@webhook_app.command("deliveries")
def webhook_deliveries(endpoint_id: int,
                       limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
                       server: ServerOpt = None, profile: ProfileOpt = None,
                       json_out: JsonOpt = False) -> None:
    """The newest deliveries to an endpoint: state, attempts, last answer or error."""

    def human(r: dict[str, Any]) -> None:
        table = Table("id", "event", "state", "attempts", "last")
        for d in r["deliveries"]:
            last = d["last_error"] or (str(d["last_status"]) if d["last_status"] else "")
            table.add_row(str(d["id"]), cell(d["event"]), cell(d["state"]),
                          str(d["attempts"]), cell(last))
        console.print(table)

    emit(json_out, run(call(server, profile, sr.webhook_deliveries(endpoint_id, limit))),
         human)

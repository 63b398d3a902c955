"""`tidings order ...` (removal orders, TCO Art. 3) and `tidings admin create-authority`."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tidings.cli.common import (
    DataOpt,
    JsonOpt,
    ProfileOpt,
    ServerOpt,
    cell,
    console,
    emit,
    profile_dir,
    run,
)
from tidings.cli.common import show as say
from tidings.client import profile as profiles
from tidings.client.sdk import TidingsClient


def iso(ms: int | None) -> str | None:
    """Like ``moderation.orders.iso``; not imported from there, as the moderation package
    loads the matchers (slow), which a client command never needs."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds").replace(
        "+00:00", "Z")

app = typer.Typer(help="Removal orders of competent authorities (TCO Regulation 2021/784).",
                  no_args_is_help=True)


def _show(o: dict[str, Any]) -> None:
    say(f"order {o['id']} ({o['reference']}) from {o['authority_name']} "
        f"({o['member_state']}): {o['status']}")
    say(f"  target {o['target']['kind']} {o['target']['ref']}"
        + (f" — {o['target']['url']}" if o["target"]["url"] else ""))
    scope = o.get("scope") or {}
    if scope:
        say(f"  basis {scope['basis']}: {scope['legal_basis']}; {scope['category']}; "
            f"in {', '.join(scope['territorial_scope'])}")
    if o.get("needs_confirmation") and not o.get("confirmed_ms"):
        say("  above the authority's hourly rate: executed, awaiting an admin's "
            "confirmation (tidings order confirm ID)")
    say(f"  received {iso(o['received_ms'])}, deadline {iso(o['deadline_ms'])}"
        + (" — OVERDUE" if o["overdue"] else ""))
    if o["completed_ms"] is not None:
        say(f"  removed/disabled {iso(o['completed_ms'])}")
    if o.get("execution_error"):
        err = o["execution_error"]
        say(f"  not executed: {err['message']} ({err['code']})")
    if o["cannot_comply_reason"]:
        say(f"  cannot comply: {o['cannot_comply_reason']} — "
            f"{o['cannot_comply_details']}")
    if o["withhold_until_ms"] and not o["notice_sent_ms"]:
        say(f"  notice to the content provider withheld until "
            f"{iso(o['withhold_until_ms'])}")
    for item in o.get("preservation") or []:
        say(f"  preserved as {item['id']} until {iso(item['expires_ms'])}")


async def _with_client(server: str | None, profile: Path | None, fn: Any) -> Any:
    async with TidingsClient.from_profile(profile_dir(profile), server) as client:
        return await fn(client)


@app.command("submit")
def submit(target: Annotated[str, typer.Option(
               "--target", help="A public URL (/c/HANDLE/POST, /c/HANDLE) or post:ID, "
                                "channel:HANDLE, account:NAME")],
           legal_basis: Annotated[str, typer.Option("--legal-basis")],
           reasons: Annotated[str, typer.Option("--reasons")],
           reference: Annotated[str, typer.Option("--reference",
                                                  help="Your order reference")],
           label: Annotated[str | None, typer.Option(
               help="Category (default terrorist_content)")] = None,
           withhold_days: Annotated[int | None, typer.Option(
               "--withhold-days", help="Withhold the notice to the content provider "
                                       "(TCO Art. 11(3)), at most 42 days")] = None,
           basis: Annotated[str | None, typer.Option(
               help="tco_art3 (terrorist content) or dsa_art9 (other illegal content); "
                    "default: from the regulation --legal-basis cites")] = None,
           category: Annotated[str | None, typer.Option(
               help="dsa_art9: the DSA statement category, e.g. "
                    "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH")] = None,
           territory: Annotated[list[str] | None, typer.Option(
               "--territory", help="dsa_art9: a Member State the order has effect in "
                                   "(repeat; default the issuing one)")] = None,
           server: ServerOpt = None, profile: ProfileOpt = None, json_out: JsonOpt = False
           ) -> None:
    """Submit an order (authorities): a TCO removal order or a DSA Art. 9 order. The
    target is disabled at once."""
    result = run(_with_client(server, profile, lambda c: c.submit_order(
        target, legal_basis, reasons, reference, label, withhold_days, basis, category,
        territory or None)))
    emit(json_out, result, _show)


@app.command("confirm")
def confirm(order_id: str, server: ServerOpt = None, profile: ProfileOpt = None,
            json_out: JsonOpt = False) -> None:
    """Confirm an order that arrived above the authority's hourly rate (admins)."""
    emit(json_out, run(_with_client(server, profile, lambda c: c.confirm_order(order_id))),
         _show)


@app.command("show")
def show(order_id: str, server: ServerOpt = None, profile: ProfileOpt = None,
         json_out: JsonOpt = False) -> None:
    """One order, with its confirmation state and preserved items."""
    emit(json_out, run(_with_client(server, profile, lambda c: c.order(order_id))), _show)


@app.command("confirmation")
def confirmation(order_id: str, server: ServerOpt = None, profile: ProfileOpt = None,
                 json_out: JsonOpt = False) -> None:
    """The Annex II confirmation (or Annex III answer) as JSON (indented; one line with
    --json)."""
    result = run(_with_client(server, profile, lambda c: c.order_confirmation(order_id)))
    emit(json_out, result, _indented)


@app.command("list")
def list_orders(status: Annotated[str | None, typer.Option(
                    help="open, completed or cannot_comply")] = None,
                server: ServerOpt = None, profile: ProfileOpt = None,
                json_out: JsonOpt = False) -> None:
    """Your orders (authorities) or every order (staff), newest first."""
    result = run(_with_client(server, profile, lambda c: c.orders(status)))

    def human(items: list[dict[str, Any]]) -> None:
        table = Table("order", "reference", "authority", "target", "status", "received")
        for o in items:
            state = o["status"] + (" OVERDUE" if o["overdue"] else "")
            table.add_row(cell(o["id"]), cell(o["reference"]),
                          cell(f"{o['authority_name']} ({o['member_state']})"),
                          cell(f"{o['target']['kind']} {o['target']['ref']}"), state,
                          iso(o["received_ms"]) or "")
        console.print(table)

    emit(json_out, result, human)


@app.command("cannot-comply")
def cannot_comply(order_id: str,
                  reason: Annotated[str, typer.Option(
                      "--reason", help="manifest_error, force_majeure, "
                                       "de_facto_impossibility or insufficient_information")],
                  details: Annotated[str, typer.Option("--details")],
                  server: ServerOpt = None, profile: ProfileOpt = None,
                  json_out: JsonOpt = False) -> None:
    """Answer that an open order cannot be executed (staff; TCO Annex III)."""
    result = run(_with_client(server, profile,
                              lambda c: c.cannot_comply(order_id, reason, details)))
    emit(json_out, result, _show)


@app.command("execute")
def execute(order_id: str, server: ServerOpt = None, profile: ProfileOpt = None,
            json_out: JsonOpt = False) -> None:
    """Disable an open order's target again, e.g. after a failure (staff)."""
    emit(json_out, run(_with_client(server, profile, lambda c: c.execute_order(order_id))),
         _show)


@app.command("extend-withholding")
def extend_withholding(order_id: str, server: ServerOpt = None, profile: ProfileOpt = None,
                       json_out: JsonOpt = False) -> None:
    """Withhold the notice to the content provider six more weeks (authorities, once)."""
    result = run(_with_client(server, profile, lambda c: c.extend_withholding(order_id)))
    emit(json_out, result, _show)


@app.command("preserved")
def preserved(item_id: str, server: ServerOpt = None, profile: ProfileOpt = None,
              json_out: JsonOpt = False) -> None:
    """A preserved item (TCO Art. 6) as JSON (indented; one line with --json): admins and
    the ordering authority."""
    emit(json_out, run(_with_client(server, profile, lambda c: c.preserved(item_id))),
         _indented)


def _indented(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


@app.command("preserved-list")
def preserved_list(limit: Annotated[int, typer.Option(min=1, max=100)] = 100,
                   server: ServerOpt = None, profile: ProfileOpt = None,
                   json_out: JsonOpt = False) -> None:
    """Preserved items you may see (TCO Art. 6): why, until when, how often extended."""
    result = run(_with_client(server, profile, lambda c: c.preserved_items(limit)))

    def human(items: list[dict[str, Any]]) -> None:
        table = Table("item", "target", "cause", "order", "until", "extensions")
        for i in items:
            table.add_row(cell(i["id"]), cell(f"{i['target']['kind']} {i['target']['ref']}"),
                          cell(i["cause"]), cell(i["order_id"] or ""),
                          iso(i["expires_ms"]) or "", str(i["extensions"]))
        console.print(table)

    emit(json_out, result, human)


@app.command("preserved-blob")
def preserved_blob(item_id: str, sha256: str,
                   out: Annotated[Path, typer.Option("--out", help="Write the file here.",
                                                     dir_okay=False)],
                   server: ServerOpt = None, profile: ProfileOpt = None,
                   json_out: JsonOpt = False) -> None:
    """Save a media file kept with a preserved item (its SHA-256 is in `order preserved`)."""
    data: bytes = run(_with_client(server, profile,
                                   lambda c: c.preserved_blob(item_id, sha256)))
    out.write_bytes(data)
    emit(json_out, {"out": str(out), "bytes": len(data)},
         lambda r: say(f"wrote {r['bytes']} bytes to {out}"))


@app.command("extend-preservation")
def extend_preservation(item_id: str,
                        months: Annotated[int, typer.Option(min=1, max=6)] = 6,
                        server: ServerOpt = None, profile: ProfileOpt = None,
                        json_out: JsonOpt = False) -> None:
    """Keep a preserved item longer (TCO Art. 6(2))."""
    result = run(_with_client(server, profile,
                              lambda c: c.extend_preservation(item_id, months)))
    emit(json_out, result, lambda r: console.print(
        f"{r['id']} kept until {iso(r['expires_ms'])}", highlight=False))


def create_authority(name: str,
                     authority_name: Annotated[str, typer.Option(
                         "--authority-name", help="The competent authority's name")],
                     member_state: Annotated[str, typer.Option(
                         "--member-state", help="ISO 3166-1 alpha-2, e.g. DE")],
                     save_profile: Annotated[Path | None, typer.Option(
                         "--save-profile", help="Also write a client profile holding the "
                                                "token, for `tidings order --profile`")] = None,
                     server: ServerOpt = None, data: DataOpt = None,
                     json_out: JsonOpt = False) -> None:
    """Create a competent authority's account on the server host; prints its API token
    once (it has no password)."""
    from tidings.cli.common import database_url
    from tidings.cli.server import _settings
    from tidings.kernel import open_kernel

    settings = _settings(data)

    async def go() -> dict[str, Any]:
        async with open_kernel(settings, database_url=database_url(settings)) as kernel:
            created = await kernel.authorities.create(name, authority_name, member_state)
        return created.json()

    result = run(go())
    if save_profile is not None:
        profiles.save(save_profile, profiles.Profile(
            server or settings.resolved_public_url, result["username"], result["device_id"],
            result["token"]))
    emit(json_out, result, lambda r: console.print(
        f"created authority {r['username']} ({r['authority_name']}, {r['member_state']})\n"
        f"API token (shown once): {r['token']}", highlight=False))

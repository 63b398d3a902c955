"""`tidings bank exchange ...`: partner hash exchanges of a bank (staff, through the API).

Configure one (``set``), fetch it now with a progress bar (``fetch``), schedule it
(``schedule --every 3600``), and read its status (``list``, ``status``): last success,
last error, failures in a row, entries added/removed/rejected and why.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

from tidings.cli.common import (
    JsonOpt,
    ProfileOpt,
    ServerOpt,
    console,
    emit,
    err_console,
    fail,
    profile_dir,
    run,
)
from tidings.client import bank_requests as rq
from tidings.client.sdk import TidingsClient

app = typer.Typer(help="Partner hash exchanges of a bank: configure, fetch, schedule, status.",
                  no_args_is_help=True)
STATUS_POLL_S = 1.0


def _client(server: str | None, profile: Path | None) -> TidingsClient:
    return TidingsClient.from_profile(profile_dir(profile), server)


async def _call(server: str | None, profile: Path | None, request: Any) -> Any:
    async with _client(server, profile) as client:
        return await client.call(request)


def _when(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _print_status(x: dict[str, Any]) -> None:
    out = console.print
    every = f"every {x['interval_s']} s" if x["interval_s"] else "on request only"
    out(f"{x['name']} ({x['exchange_type']}) -> bank {x['bank']}: {x['state']}", markup=False)
    out(f"  schedule: {every}; next run {_when(x['next_run_at'])}", markup=False)
    out(f"  last success {_when(x['last_success_at'])}; last attempt "
        f"{_when(x['last_attempt_at'])}; failures in a row {x['failures_in_a_row']}",
        markup=False)
    if x["last_error"]:
        out(f"  last error ({_when(x['last_error_at'])}): {x['last_error']}", markup=False)
    totals = x["totals"]
    out(f"  in total: {totals['added']} added, {totals['removed']} removed, "
        f"{totals['rejected']} rejected", markup=False)
    if x["progress"]:
        p = x["progress"]
        out(f"  running: {p['batches']} batches, {p['fetched']} records, {p['added']} added",
            markup=False)
    for reason, n in sorted(x["rejected_by_reason"].items(), key=lambda kv: -kv[1]):
        out(f"  rejected {n}: {reason}", markup=False)


@app.command("list")
def list_exchanges(bank: str, server: ServerOpt = None, profile: ProfileOpt = None,
                   json_out: JsonOpt = False) -> None:
    """Exchanges feeding BANK with their state and counts."""
    result = run(_call(server, profile, rq.exchanges(bank)))

    def human(value: dict[str, Any]) -> None:
        table = Table("exchange", "type", "state", "last success", "next run", "added",
                      "removed", "rejected", "last error")
        for x in value["exchanges"]:
            t = x["totals"]
            table.add_row(x["name"], x["exchange_type"], x["state"],
                          _when(x["last_success_at"]), _when(x["next_run_at"]),
                          str(t["added"]), str(t["removed"]), str(t["rejected"]),
                          (x["last_error"] or "")[:60])
        console.print(table)

    emit(json_out, result, human)


@app.command()
def status(bank: str, name: str, server: ServerOpt = None, profile: ProfileOpt = None,
           json_out: JsonOpt = False) -> None:
    """One exchange's schedule, last success and error, and rejections by reason."""
    emit(json_out, run(_call(server, profile, rq.exchange(bank, name))), _print_status)


@app.command("set")
def set_exchange(bank: str, name: str,
                 exchange_type: Annotated[str, typer.Option(
                     "--type", help="tat, ncmec, threatexchange, local_file or static_sample.")],
                 label: Annotated[list[str], typer.Option(
                     "--label", "-l", help="Labels given to every fetched entry.")],
                 config: Annotated[str, typer.Option(help="JSON config, e.g. "
                                                    '{"environment": "Industry"}.')] = "{}",
                 credentials_env: Annotated[str, typer.Option(
                     help="Server environment variable holding the credentials.")] = "",
                 server: ServerOpt = None, profile: ProfileOpt = None,
                 json_out: JsonOpt = False) -> None:
    """Create or reconfigure an exchange (its checkpoint is kept)."""
    try:
        parsed = json.loads(config)
    except ValueError as exc:
        fail(f"--config is not JSON: {exc}", "usage")
    if not isinstance(parsed, dict):
        fail("--config must be a JSON object", "usage")
    result = run(_call(server, profile, rq.put_exchange(bank, name, exchange_type, label,
                                                        parsed, credentials_env)))
    emit(json_out, result, lambda x: console.print(f"exchange {x['name']} feeds {x['bank']}",
                                                   markup=False))


@app.command()
def schedule(bank: str, name: str,
             every: Annotated[int | None, typer.Option(
                 help="Seconds between fetches (300 to 604800).")] = None,
             off: Annotated[bool, typer.Option(help="Stop the schedule.")] = False,
             server: ServerOpt = None, profile: ProfileOpt = None,
             json_out: JsonOpt = False) -> None:
    """Fetch every N seconds (first run now), with backoff after failures."""
    if (every is None) == (not off):
        fail("give --every SECONDS or --off", "usage")
    result = run(_call(server, profile, rq.schedule(bank, name, None if off else every)))
    emit(json_out, result, _print_status)


@app.command()
def fetch(bank: str, name: str, server: ServerOpt = None, profile: ProfileOpt = None,
          json_out: JsonOpt = False) -> None:
    """Fetch now from the stored checkpoint, showing progress; prints what was added,
    removed and rejected (and why)."""

    async def go() -> dict[str, Any]:
        async with _client(server, profile) as client:
            call = asyncio.create_task(client.call(rq.fetch(bank, name)))
            with Progress(SpinnerColumn(), TextColumn("{task.description}"),
                          console=err_console, disable=json_out) as bar:
                task = bar.add_task(f"fetching {name}", total=None)
                while not call.done():
                    await asyncio.wait({call}, timeout=STATUS_POLL_S)
                    if call.done():
                        break
                    x = await client.call(rq.exchange(bank, name))
                    p = x.get("progress") or {}
                    bar.update(task, description=(
                        f"fetching {name}: {p.get('batches', 0)} batches, "
                        f"{p.get('fetched', 0)} records, {p.get('added', 0)} added"))
            result: dict[str, Any] = call.result()
            return result

    def human(r: dict[str, Any]) -> None:
        console.print(f"{r['batches']} batches: {r['added']} added, {r['duplicates']} already "
                      f"banked, {r['disabled']} removed upstream, {r['rejected']} rejected",
                      markup=False)
        for reason, n in sorted(r["rejected_by_reason"].items(), key=lambda kv: -kv[1]):
            console.print(f"  rejected {n}: {reason}", markup=False)

    emit(json_out, run(go()), human)

"""``tidings transparency``: statements-of-reasons export and transparency reports.

Operator commands on the server host: they read the database directly (``--data``,
like ``tidings audit``), so a report can be produced with the server down, and
write to a file (``--out``) or standard output.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from tidings.cli.common import (
    DEFAULT_SERVER,
    DataOpt,
    JsonOpt,
    ServerOpt,
    database_url,
    emit,
    err_console,
    run,
    show,
)

if TYPE_CHECKING:  # server-side modules load when a command runs: client commands start faster
    from tidings.services.transparency import TransparencyService

app = typer.Typer(help="Statements of reasons export and transparency reports "
                       "(operator, on the server host).", no_args_is_help=True)

T = TypeVar("T")
OutOpt = Annotated[Path | None, typer.Option(
    "--out", help="Write to this file instead of standard output.")]


class ReportFormat(StrEnum):
    """The transparency report's formats."""

    json = "json"
    csv = "csv"
    html = "html"


async def _with_service(data: Path | None,
                        work: Callable[[TransparencyService], Awaitable[T]]) -> T:
    from tidings.config import load_settings
    from tidings.kernel import open_kernel

    settings = load_settings(data, None)
    async with open_kernel(settings, database_url=database_url(settings)) as kernel:
        return await work(kernel.transparency)


@app.command("sor-export")
def sor_export(since: Annotated[str, typer.Option("--since", help="First day, YYYY-MM-DD.")],
               until: Annotated[str | None, typer.Option(
                   "--until", help="Last day, YYYY-MM-DD (included; default today).")] = None,
               out: OutOpt = None, data: DataOpt = None, json_out: JsonOpt = False) -> None:
    """Every statement of reasons of the period as JSON lines in the DSA Transparency
    Database's API format (one statement per line, each validated); with --out and
    --json, a JSON summary on stdout."""
    since_ms, until_ms = run(_period(since, until))

    async def go(svc: TransparencyService) -> int:
        count = 0
        handle = sys.stdout if out is None else out.open("w", encoding="utf-8")
        try:
            async for line in svc.sor_lines(since_ms, until_ms):
                handle.write(line)
                count += 1
        finally:
            if out is not None:
                handle.close()
        return count

    count = run(_with_service(data, go))
    if json_out and out is not None:
        emit(True, {"exported": count, "out": str(out)}, print)
    else:
        err_console.print(f"{count} statement(s) of reasons exported"
                          + (f" to {out}" if out is not None else ""), markup=False)


async def _period(first: str, last: str | None) -> tuple[int, int]:
    from tidings.services.clock import system_clock
    from tidings.services.transparency import period

    return period(first, last, system_clock())


@app.command("report")
def report(from_: Annotated[str, typer.Option(
               "--since", help="First day, YYYY-MM-DD.")],
           to: Annotated[str | None, typer.Option(
               "--until", help="Last day, YYYY-MM-DD (included; default today).")
           ] = None,
           report_format: Annotated[ReportFormat, typer.Option(
               "--format", help="json, csv or html.")] = ReportFormat.json,
           out: OutOpt = None, data: DataOpt = None, json_out: JsonOpt = False) -> None:
    """The transparency report of the period (DSA Arts. 15 and 24, TCO Art. 7)."""
    fmt = report_format.value
    since_ms, until_ms = run(_period(from_, to))

    async def go(svc: TransparencyService) -> Any:
        return await svc.report(since_ms, until_ms)

    figures = run(_with_service(data, go))
    from tidings.server.transparency_page import render_csv, render_html

    if fmt == "csv":
        text = render_csv(figures)
    elif fmt == "html":
        text = render_html(figures, standalone=True)
    else:
        text = json.dumps(figures.to_json(), indent=2, sort_keys=True) + "\n"
    if out is not None:
        out.write_text(text, encoding="utf-8")
        emit(json_out, {"format": fmt, "out": str(out)},
             lambda v: err_console.print(f"wrote the {fmt} report to {out}", markup=False))
    elif json_out and fmt != "json":
        emit(True, {"format": fmt, "text": text}, print)
    else:
        sys.stdout.write(text)


@app.command("channel-bans")
def channel_bans(since: Annotated[str | None, typer.Option(
                     "--since", help="First day, YYYY-MM-DD (default: 30 days ago).")] = None,
                 until: Annotated[str | None, typer.Option(
                     "--until", help="Last day, YYYY-MM-DD (default: today).")] = None,
                 server: ServerOpt = None, json_out: JsonOpt = False) -> None:
    """Channels banned for terrorist content per day: the server's public list, read
    through the API (no account, no data directory)."""
    from tidings.client.sdk import TidingsClient  # the client side only: no server code
    from tidings.client.staff_requests import channel_bans as request

    async def go() -> dict[str, Any]:
        async with TidingsClient(server or DEFAULT_SERVER) as client:
            result: dict[str, Any] = await client.call(request(since, until))
            return result

    def human(r: dict[str, Any]) -> None:
        show(f"{r['total']} channels banned for terrorist content, {r['from']} to {r['to']}")
        for d in r["days"]:
            if d["channels_banned"]:
                show(f"  {d['date']}: {d['channels_banned']}")

    emit(json_out, run(go()), human)

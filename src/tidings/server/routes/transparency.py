"""Transparency: the statements-of-reasons export and reports (staff API), the public
report page ``/transparency`` and the public daily count of channels banned for
terrorist content. Routes stay thin; ``TransparencyService`` does the work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any, Final, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse

from tidings.moderation.transparency import TransparencyReport
from tidings.protocol import limits
from tidings.protocol.api.transparency import TerroristChannelBans
from tidings.protocol.errors import BadRequest, TidingsError
from tidings.server.deps import rate_limit, require_role
from tidings.server.openapi import typed
from tidings.server.state import kernel_of
from tidings.server.transparency_page import PeriodLink, render_csv, render_html, render_notice
from tidings.services.accounts import Principal
from tidings.services.transparency import (
    MS_PER_DAY,
    TransparencyService,
    daily_series,
    day_ms,
    day_of,
    period,
)

router = APIRouter(prefix="/api/v1/transparency", tags=["transparency"])
public = APIRouter(tags=["transparency"])

STAFF = Depends(require_role("admin", "auditor"))
DAY_PATTERN: Final = (r"^(?:[0-9]{3}[1-9]|[0-9]{2}[1-9][0-9]|[0-9][1-9][0-9]{2}|[1-9][0-9]{3})"
                      r"-[0-9]{2}-[0-9]{2}$")
"""A day ``YYYY-MM-DD`` of years 1..9999 in ASCII digits; ``format: date`` publishes the
rest of what ``day_ms`` parses (no 2026-13-01 nor February 30: 400 ``invalid_period``)."""


def _day(alias: str | None = None, required: bool = False) -> Any:
    """A fresh ``Query`` per parameter (FastAPI binds an alias to the object it is given)."""
    extra = {"format": "date"}
    if required:
        return Query(alias=alias, pattern=DAY_PATTERN, max_length=10, json_schema_extra=extra)
    return Query(None, alias=alias, pattern=DAY_PATTERN, max_length=10, json_schema_extra=extra)
NDJSON: Final = "application/x-ndjson"
FIRST_YEAR: Final = 2024
"""The page offers years from the DSA's full application (17 February 2024) on."""


def service(request: Request) -> TransparencyService:
    svc: TransparencyService = kernel_of(request).transparency
    return svc


@router.get("/sor-export", response_class=StreamingResponse, responses={
    200: {"content": {NDJSON: {}}, "description": "One DSA Transparency Database "
                                                   "statement (API v1) per line."}})
async def sor_export(since: str = _day(required=True), until: str | None = _day(),
                     _: Principal = STAFF,
                     svc: TransparencyService = Depends(service)) -> StreamingResponse:
    """Every statement of reasons applied from ``since`` to ``until`` (UTC days, both
    included; ``until`` defaults to today), in the Transparency Database's format."""
    since_ms, until_ms = period(since, until, svc.clock())
    lines = svc.sor_lines(since_ms, until_ms)
    first = await anext(lines, None)  # a bad first statement still gets a clean 4xx/5xx

    async def body() -> AsyncIterator[bytes]:
        if first is not None:
            yield first.encode()
            async for line in lines:
                yield line.encode()

    name = f"tidings-sor-{day_of(since_ms)}-{day_of(until_ms - MS_PER_DAY)}.jsonl"
    return StreamingResponse(body(), media_type=NDJSON,
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/report", responses={200: {
    "description": "The figures: JSON (format=json), CSV rows or the HTML page",
    "model": TransparencyReport,
    "content": {"text/csv": {"schema": {"type": "string"}},
                "text/html": {"schema": {"type": "string"}}}}})
async def report(from_: str = _day("from", required=True), to: str | None = _day(),
                 format: Literal["json", "csv", "html"] = "json",
                 _: Principal = STAFF,
                 svc: TransparencyService = Depends(service)) -> Response:
    """The figures for ``from``..``to`` (UTC days, both included) as JSON, CSV
    (``metric,key,value`` rows) or the HTML page."""
    since_ms, until_ms = period(from_, to, svc.clock())
    figures = await svc.report(since_ms, until_ms)
    if format == "csv":
        return Response(render_csv(figures), media_type="text/csv; charset=utf-8")
    if format == "html":
        return HTMLResponse(render_html(figures, bans_until_ms=_not_after_today(
            until_ms, svc.clock())))
    return JSONResponse(figures.to_json())


def _not_after_today(until_ms: int, now_ms: int) -> int:
    return min(until_ms, day_ms(day_of(now_ms)) + MS_PER_DAY)


# --- public --------------------------------------------------------------------------


def _public_period(value: str | None, now_ms: int) -> tuple[int, int, int, int | None]:
    """``YYYY`` or ``YYYY-MM`` -> (since, until, year, month); default this year."""
    today = datetime.fromtimestamp(now_ms / 1000, UTC).date()
    if value is None:
        year, month = today.year, None
    else:
        try:
            parts = [int(p) for p in value.split("-")]
            year, month = parts[0], (parts[1] if len(parts) == 2 else None)
            if len(parts) > 2 or (month is not None and not 1 <= month <= 12):
                raise ValueError(value)
        except ValueError as exc:
            raise BadRequest("period is YYYY or YYYY-MM", "invalid_period") from exc
        if not FIRST_YEAR <= year <= today.year:
            raise BadRequest(f"period is a year from {FIRST_YEAR} to {today.year}",
                             "invalid_period")
    if month is None:
        start, end = date(year, 1, 1), date(year + 1, 1, 1)
    else:
        start = date(year, month, 1)
        end = date(year + (month == 12), month % 12 + 1, 1)
    since = day_ms(start.isoformat())
    return since, day_ms(end.isoformat()), year, month


def _links(year: int, month: int | None, now_ms: int) -> tuple[list[PeriodLink],
                                                                 list[PeriodLink]]:
    today = datetime.fromtimestamp(now_ms / 1000, UTC).date()
    years = [PeriodLink(str(y), f"/transparency?period={y}", y == year and month is None)
             for y in range(FIRST_YEAR, today.year + 1)]
    last = today.month if year == today.year else 12
    months = [PeriodLink(date(year, m, 1).strftime("%b"),
                         f"/transparency?period={year}-{m:02d}", m == month)
              for m in range(1, last + 1)]
    return years, months


PUBLIC_RATE = [Depends(rate_limit("transparency"))]


@public.get("/transparency", response_class=HTMLResponse, include_in_schema=False,
            dependencies=PUBLIC_RATE)
async def transparency_page(request: Request,
                            period_: str | None = Query(None, alias="period", max_length=7),
                            svc: TransparencyService = Depends(service)) -> HTMLResponse:
    """The public transparency report: a year (default: this one, to date) or a month."""
    now = svc.clock()
    try:
        since, until, year, month = _public_period(period_, now)
    except TidingsError as exc:
        return HTMLResponse(render_error(exc.message), status_code=exc.status)
    figures = await svc.cached_report(since, until)
    years, months = _links(year, month, now)
    return HTMLResponse(render_html(figures, periods=years, months=months, public=True,
                                    bans_until_ms=_not_after_today(until, now)))


def render_error(message: str) -> str:
    return render_notice("Transparency report", message)


@public.get("/transparency/terrorist-channel-bans.json", dependencies=PUBLIC_RATE,
            response_model_by_alias=True, **typed(TerroristChannelBans))
async def terrorist_channel_bans(
        from_: str | None = _day("from"), to: str | None = _day(),
        svc: TransparencyService = Depends(service)) -> dict[str, Any]:
    """Channels banned for terrorist content, per UTC day (public; default: the last
    30 days including today).

    Arithmetic no JSON Schema states (else 400 ``invalid_period``): ``from`` is not after
    ``to`` (``to`` defaults to today, ``from`` to 29 days before today), the period
    starts no later than today (days after today are left out) and spans at most
    ``TERROR_BANS_MAX_DAYS`` (366) days."""
    now = svc.clock()
    first = from_ or day_of(now - (limits.TERROR_BANS_DEFAULT_DAYS - 1) * MS_PER_DAY)
    since, until = period(first, to, now)
    until = min(until, _not_after_today(until, now))
    if until <= since:
        raise BadRequest("the period is in the future", "invalid_period")
    if until - since > limits.TERROR_BANS_MAX_DAYS * MS_PER_DAY:
        raise BadRequest(f"at most {limits.TERROR_BANS_MAX_DAYS} days at a time",
                         "invalid_period")
    figures = await svc.cached_report(since, until)
    days = daily_series(figures.terror_channel_bans_by_day, since, until)
    return {"from": day_of(since), "to": day_of(until - MS_PER_DAY),
            "total": sum(d["channels_banned"] for d in days), "days": days,
            "description": "Public channels banned for terrorist content, per UTC day."}


"""The transparency report as a page: names for the figures, charts, and the HTML.

Shared by the public page (``GET /transparency``), the staff API's ``format=html``
and ``tidings transparency report --format html``, so all three show the same
thing. Rendering uses the Jinja environment of the web templates directly (no
request needed) and the same stylesheet link, so it works under the strict CSP.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

from jinja2 import Environment, FileSystemLoader, select_autoescape

from tidings.moderation.transparency import TransparencyReport
from tidings.server.charts import Chart, bar_chart, column_chart
from tidings.services.transparency import MS_PER_DAY, daily_series, day_of

SOURCE_NAMES: Final = {
    "hash_match": "Hash match",
    "user_report": "User report",
    "verified_private_report": "Verified private report",
    "trusted_flagger": "Trusted flagger",
    "removal_order": "Removal order",
    "automated_rule": "Other automated detection",
    "moderator": "Moderator's own initiative",
}
ACTION_NAMES: Final = {
    "reject": "Refused at upload",
    "hold": "Held for review",
    "remove": "Removed after publication",
    "ban_channel": "Channel banned",
    "suspend_account": "Account suspended",
    "strike": "Strike",
}

_env = Environment(
    loader=FileSystemLoader(str(resources.files("tidings.server") / "templates")),
    autoescape=select_autoescape(["html"]))


def category_name(label: str) -> str:
    """``category:terrorist_content`` -> ``Terrorist content``."""
    name = label.split(":", 1)[-1].replace("_", " ")
    return name[:1].upper() + name[1:]


def source_name(key: str) -> str:
    """``hash_match:GIFCT_TCAP`` -> ``Hash match (GIFCT_TCAP)``."""
    base, _, bank = key.partition(":")
    name = SOURCE_NAMES.get(base, base)
    return f"{name} ({bank})" if bank else name


def action_name(key: str) -> str:
    return ACTION_NAMES.get(key, key.replace("_", " "))


def _named(counts: Mapping[str, int], namer: Any) -> list[tuple[str, int]]:
    return [(namer(k), int(v)) for k, v in counts.items()]


def duration(ms: int | None) -> str:
    if ms is None:
        return "—"
    seconds = ms // 1000
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds / 3600:.1f} h"


@dataclass(frozen=True, slots=True)
class PeriodLink:
    label: str
    href: str
    current: bool


def charts(report: TransparencyReport, bans_until_ms: int) -> list[Chart]:
    days = daily_series(report.terror_channel_bans_by_day, report.period_start_ms,
                        max(report.period_start_ms + 1, bans_until_ms))
    return [
        bar_chart("Measures by category", _named(report.actions_by_category, category_name)),
        bar_chart("Measures by detection source",
                  _named(report.actions_by_source, source_name)),
        bar_chart("Measures by action", _named(report.actions_by_action, action_name)),
        column_chart("Channels banned for terrorist content, per day",
                     [(d["date"], d["channels_banned"]) for d in days]),
    ]


def summary_rows(report: TransparencyReport) -> list[tuple[str, str]]:
    r = report
    reasons = ", ".join(f"{k.replace('_', ' ')}: {v}"
                        for k, v in sorted(r.orders_not_complied_reasons.items()))
    return [
        ("Measures taken", str(r.actions_total)),
        ("Decided by automated means", str(r.automated_decisions)),
        ("Decided by people", str(r.human_decisions)),
        ("Median time from detection or notice to action", duration(r.median_time_to_action_ms)),
        ("Notices received", str(sum(r.notices_by_source.values()))),
        ("Notices acted on", str(r.notices_actioned)),
        ("Appeals received", str(r.appeals_received)),
        ("Appeals decided", str(r.appeals_decided)),
        ("Decisions reversed on appeal", str(r.appeals_reversed)),
        ("Removal orders received", str(r.orders_received)),
        ("Removal orders completed within one hour", str(r.orders_completed_within_hour)),
        ("Removal orders not complied with", str(r.orders_not_complied)
         + (f" ({reasons})" if reasons else "")),
        ("Reposts of removed content blocked", str(r.reposts_blocked)),
        ("Returning banned channels held for review", str(r.returning_channels_held)),
        ("Returning banned channels banned", str(r.returning_channels_banned)),
    ]


def render_html(report: TransparencyReport, *, title: str = "Transparency report",
                periods: Sequence[PeriodLink] = (), months: Sequence[PeriodLink] = (),
                bans_until_ms: int | None = None, public: bool = False,
                standalone: bool = False) -> str:
    """The report page; ``standalone`` inlines the stylesheets (a file to open or
    publish elsewhere; served pages link them, as the CSP requires)."""
    until = report.period_end_ms if bans_until_ms is None else bans_until_ms
    css = "\n".join((resources.files("tidings.server") / "static" / name).read_text("utf-8")
                    for name in ("channel.css", "transparency.css")) if standalone else None
    return _env.get_template("transparency.html").render(
        inline_css=css,
        title=title, report=report, first_day=day_of(report.period_start_ms),
        last_day=day_of(report.period_end_ms - MS_PER_DAY), summary=summary_rows(report),
        charts=charts(report, until), periods=periods, months=months, public=public,
        notices=[(source_name(k), v) for k, v in sorted(report.notices_by_source.items())])


def render_csv(report: TransparencyReport) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(("metric", "key", "value"))
    writer.writerows(report.csv_rows())
    return buf.getvalue()


def render_notice(title: str, text: str) -> str:
    return _env.get_template("notice.html").render(title=title, text=text)

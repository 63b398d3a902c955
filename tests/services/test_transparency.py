"""Transparency report and SoR export against a seeded history (issue #9).

The expected figures are computed here from the seeder's ledger (what the rules and
moderators did, written down as it happened), never from the server's own counts.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

from click.testing import Result
from typer.testing import CliRunner

from tests.conftest import AppFactory
from tests.server.transparency_history import DAY, START, TERROR, Ledger, seed
from tidings.cli.main import app as cli
from tidings.moderation.sor_export import load_schema, validate
from tidings.services.clock import ManualClock

PERIOD = "from=2026-01-01&to=2026-01-31"


def expected(led: Ledger) -> dict[str, Any]:
    m = led.measures
    delays = sorted(x.actioned_ms - x.detected_ms for x in m)
    bans: Counter[str] = Counter()
    for x in m:
        if x.action == "ban_channel" and x.label == TERROR:
            day = (x.actioned_ms - START) // DAY + 1
            bans[f"2026-01-{day:02d}"] += 1
    received = list(led.orders)
    return {
        "actions_total": len(m),
        "actions_by_category": dict(Counter(x.label for x in m)),
        "actions_by_source": dict(Counter(x.source for x in m)),
        "actions_by_action": dict(Counter(x.action for x in m)),
        "median_time_to_action_ms": statistics.median_low(delays),
        "automated_decisions": sum(x.automated for x in m),
        "human_decisions": sum(not x.automated for x in m),
        "notices_by_source": dict(Counter(s for s, _ in led.notices)),
        "notices_actioned": sum(a for _, a in led.notices),
        "appeals_received": len(led.appeals),
        "appeals_decided": len(led.appeals),
        "appeals_reversed": sum(led.appeals),
        "orders_received": len(received),
        "orders_completed_within_hour": sum(
            c is not None and c - r <= 3_600_000 for r, c, _ in received),
        "orders_not_complied": sum(reason is not None for _, _, reason in received),
        "orders_not_complied_reasons": dict(Counter(x for _, _, x in received if x)),
        "reposts_blocked": sum(x.repost for x in m),
        "terror_channel_bans_by_day": dict(sorted(bans.items())),
    }


def schema_problems(payload: dict[str, Any]) -> list[str]:
    """A second, independent reading of the schema: required fields, no unknown
    fields, enumerations — so the export is not only checked by its own validator."""
    schema = load_schema()
    props = schema["properties"]
    problems = [f"missing {k}" for k in schema["required"] if k not in payload]
    for key, value in payload.items():
        spec = props.get(key)
        if spec is None:
            problems.append(f"unknown {key}")
            continue
        allowed = spec.get("enum") or spec.get("items", {}).get("enum")
        values = value if isinstance(value, list) else [value]
        if allowed and any(v not in allowed for v in values):
            problems.append(f"{key}={value!r}")
    if not any(k in payload for k in ("decision_visibility", "decision_provision",
                                       "decision_account", "decision_monetary")):
        problems.append("no decision_* field")
    return problems


async def test_report_and_export_match_the_seeded_history(api: AppFactory,
                                                          tmp_path: Path) -> None:
    clock = ManualClock()
    async with api(clock=clock, job_concurrency=0) as client:  # no retro-scans racing
        led = await seed(client, clock)
        auditor = led.headers["auditor"]
        r = await client.get(f"/api/v1/transparency/report?{PERIOD}", headers=auditor)
        assert r.status_code == 200, r.text
        figures = r.json()
        want = expected(led)
        for key, value in want.items():
            assert figures[key] == value, key
        assert figures["period_start_ms"] == START
        assert figures["period_end_ms"] == START + 31 * DAY
        # a shorter period only counts what happened in it (day 3: decisions, repost)
        r = await client.get("/api/v1/transparency/report?from=2026-01-03&to=2026-01-03",
                             headers=auditor)
        day3 = [x for x in led.measures if START + 2 * DAY <= x.actioned_ms < START + 3 * DAY]
        assert r.json()["actions_total"] == len(day3)
        assert r.json()["terror_channel_bans_by_day"] == {"2026-01-03": 1}

        csv_r = await client.get(f"/api/v1/transparency/report?{PERIOD}&format=csv",
                                 headers=auditor)
        assert csv_r.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(csv_r.text)))
        assert rows[0] == ["metric", "key", "value"] and all(len(x) == 3 for x in rows)
        assert ["actions_total", "", str(want["actions_total"])] in rows
        for source, count in want["actions_by_source"].items():
            assert ["actions_by_source", source, str(count)] in rows

        export = await client.get("/api/v1/transparency/sor-export?since=2026-01-01"
                                  "&until=2026-01-31", headers=auditor)
        assert export.status_code == 200, export.text
        assert export.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(x) for x in export.text.splitlines()]
    assert len(lines) == len(led.statements)
    for payload in lines:
        assert validate(payload) == [], payload
        assert schema_problems(payload) == [], payload
    assert len({p["puid"] for p in lines}) == len(lines)
    assert Counter(p["source_type"] for p in lines) == Counter(
        s["source_type"] for s in led.statements)
    assert Counter(p["automated_decision"] == "AUTOMATED_DECISION_FULLY" for p in lines) == \
        Counter(s["automated"] for s in led.statements)
    assert sum("decision_provision" in p for p in lines) == sum(
        s["provision"] for s in led.statements)
    assert sum(p["category"] == "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
               for p in lines) == sum(s["label"] == TERROR for s in led.statements)
    assert {p["application_date"] for p in lines} <= {f"2026-01-0{d}" for d in range(1, 6)}
    ordered = [p for p in lines if p.get("source_identity") == "Bundeskriminalamt"]
    assert len(ordered) == 1 and ordered[0]["source_type"] != "SOURCE_VOLUNTARY", lines
    staff = [p for p in lines if p["puid"].startswith("sor-rm-")]
    assert len(staff) == 1 and staff[0]["category"] == "STATEMENT_CATEGORY_VIOLENCE"
    assert staff[0]["automated_decision"] == "AUTOMATED_DECISION_NOT_AUTOMATED"

    # the operator's CLI on the server host gives the same figures and lines (run in
    # a thread: the command runs its own event loop)
    data = tmp_path / "data"
    out = tmp_path / "sor.jsonl"
    res = await invoke("transparency", "sor-export", "--since", "2026-01-01", "--until",
                       "2026-01-31", "--out", str(out), "--data", str(data))
    assert res.exit_code == 0, res.output
    assert [json.loads(x) for x in out.read_text().splitlines()] == lines
    res = await invoke("transparency", "report", "--since", "2026-01-01", "--until",
                       "2026-01-31", "--format", "json", "--data", str(data))
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == figures


async def invoke(*args: str) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args))

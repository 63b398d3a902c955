"""The operator's Prometheus series: the review queue, the legal clock of removal orders,
matches by bank, jobs and process metrics, read against a seeded state."""

from __future__ import annotations

import math
import re

import httpx

from tests.conftest import AppFactory
from tests.server.channel_util import channel
from tests.server.order_util import authority, member, order_body, submit
from tests.server.report_util import report, report_body, staff
from tidings.services.clock import ManualClock

MINUTE = 60_000


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one series in the exposition text (fails if it is absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.fullmatch(r"([a-z_:]+)(?:\{(.*)\})? (\S+)", line)
        if m and m.group(1) == name and ",".join(sorted((m.group(2) or "").split(","))) == (
                ",".join(sorted(want.split(","))) if want else ""):
            return float(m.group(3))
    raise AssertionError(f"{name}{{{want}}} not exported")


async def scrape(client: httpx.AsyncClient) -> str:
    r = await client.get("/metrics")
    assert r.status_code == 200
    return r.text


async def test_queue_depth_and_an_order_fifty_minutes_old(api: AppFactory) -> None:
    clock = ManualClock()
    async with api(clock=clock) as client:
        admin = await member(client, "root_admin", "admin")
        await staff(client, "mod_anna", "moderator")
        bka = await authority(client, admin, "bka")
        alice = await member(client, "alice")
        reporter = await member(client, "rita")
        for i in range(3):
            await channel(client, alice, f"desk_{i}")
            await report(client, reporter, report_body("channel", channel=f"desk_{i}"))
        empty = await scrape(client)
        assert sample(empty, "tidings_removal_orders_open") == 0
        assert math.isnan(sample(empty, "tidings_removal_order_next_deadline_seconds"))
        # a staff account is never suspended automatically: the order stays open
        order = await submit(client, bka, order_body("account:mod_anna", "BKA-50"))
        assert order["status"] == "open"
        clock.advance(50 * MINUTE)
        text = await scrape(client)
        assert sample(text, "tidings_review_queue_depth", source="user_report") == 3
        assert sample(text, "tidings_review_queue_oldest_age_seconds",
                      source="user_report") == 50 * 60
        assert sample(text, "tidings_review_queue_depth", source="legal_order") >= 0
        assert sample(text, "tidings_removal_orders_open") == 1
        assert sample(text, "tidings_removal_orders_overdue") == 0
        assert sample(text, "tidings_removal_order_next_deadline_seconds") == 10 * 60
        assert sample(text, "tidings_removal_order_oldest_open_age_seconds") == 50 * 60
        clock.advance(11 * MINUTE)
        late = await scrape(client)
        assert sample(late, "tidings_removal_orders_overdue") == 1
        assert sample(late, "tidings_removal_order_next_deadline_seconds") == -60
        # runtime metrics come with the app's own registry
        assert sample(late, "process_resident_memory_bytes") > 0
        assert "python_info" in late and "python_gc_objects_collected_total" in late


async def test_matches_and_rejections_by_bank_and_signal_type(api: AppFactory) -> None:
    async with api() as client:
        admin = await member(client, "root_admin", "admin")
        alice = await member(client, "alice")
        await channel(client, alice, "news_desk")
        text = "Join the fighters at the border camp tonight and bring weapons for the attack"
        r = await client.post("/api/v1/banks", headers=admin, json={"name": "TERROR_TEXT"})
        assert r.status_code in (200, 201), r.text
        r = await client.post("/api/v1/banks/TERROR_TEXT/entries", headers=admin, json={
            "text": text, "labels": ["category:terrorist_content"]})
        assert r.status_code in (200, 201), r.text
        r = await client.post("/api/v1/channels/news_desk/posts", headers=alice,
                              json={"text": text})
        assert r.status_code == 422, r.text
        metrics = await scrape(client)
        assert sample(metrics, "tidings_moderation_rejections_total",
                      bank="TERROR_TEXT", signal_type="text_exact") == 1
        assert sample(metrics, "tidings_moderation_matches_total", bank="TERROR_TEXT",
                      signal_type="text_near", surface="post") == 1
        assert sample(metrics, "tidings_bank_entries", bank="TERROR_TEXT",
                      signal_type="text_exact") == 1
        assert sample(metrics, "tidings_matcher_entries") >= 1
        assert sample(metrics, "tidings_matcher_version_lag") == 0

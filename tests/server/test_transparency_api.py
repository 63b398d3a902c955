"""Transparency routes: staff-only export and report, the public page and daily JSON,
bad input, and the strict CSP kept on the page with charts."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.conftest import AppFactory
from tests.server.channel_util import channel
from tests.server.order_util import member
from tests.server.transparency_history import DAY, HOUR, MINUTE, START, TERROR
from tidings.protocol.limits import RATE_TRANSPARENCY
from tidings.server.middleware import CSP
from tidings.services.clock import ManualClock

BANK = "TERROR_SMALL"
#: Per owner, three banked sentences sharing no words with any other.
TEXTS = {"a": ("oak river lantern meadow", "copper falcon winter gate",
               "violet engine harbor stone"),
         "b": ("quartz pilgrim thunder orchard", "saffron glacier anchor velvet",
               "nimbus cobalt tavern prairie")}


async def ban_two_channels(client: httpx.AsyncClient, clock: ManualClock) -> dict[str, Any]:
    """Two owners post three banked terrorist texts each, on 1 and 2 January: each
    third strike bans the channel (default rules): 6 rejections, 6 strikes, 2 bans."""
    admin = await member(client, "boss", "admin")
    assert (await client.post("/api/v1/banks", headers=admin, json={"name": BANK})
            ).status_code == 201
    for texts in TEXTS.values():
        for text in texts:
            r = await client.post(f"/api/v1/banks/{BANK}/entries", headers=admin,
                                  json={"text": text, "labels": [TERROR]})
            assert r.status_code == 201, r.text
    for day, (name, texts) in enumerate(TEXTS.items()):
        clock.now = START + day * DAY + 9 * HOUR
        owner = await member(client, f"owner_{name}")
        await channel(client, owner, f"chan_{name}")
        for text in texts:
            clock.advance(MINUTE)
            r = await client.post(f"/api/v1/channels/chan_{name}/posts", headers=owner,
                                  json={"text": text})
            assert r.status_code == 422, r.text
    return {"admin": admin}


async def test_export_and_report_are_for_admins_and_auditors_only(api: AppFactory) -> None:
    async with api() as client:
        who = {"admin": await member(client, "boss", "admin"),
               "auditor": await member(client, "audrey", "auditor"),
               "moderator": await member(client, "mod", "moderator"),
               "user": await member(client, "alice")}
        for path in ("/api/v1/transparency/report?from=2026-01-01&to=2026-01-31",
                     "/api/v1/transparency/sor-export?since=2026-01-01"):
            r = await client.get(path)
            assert r.status_code == 401 and r.json()["error"]["code"] == "missing_token"
            for role, status in (("user", 403), ("moderator", 403), ("auditor", 200),
                                 ("admin", 200)):
                r = await client.get(path, headers=who[role])
                assert r.status_code == status, (path, role, r.text)
            assert (await client.get(path, headers={"Authorization": "Bearer nope"})
                    ).status_code == 401


async def test_bad_periods_are_clear_4xx(api: AppFactory) -> None:
    async with api() as client:
        admin = await member(client, "boss", "admin")
        base = "/api/v1/transparency/report"
        for query, status, code in (
                ("from=2026-13-01", 400, "invalid_period"),
                ("from=2026-02-01&to=2026-01-01", 400, "invalid_period"),
                ("from=2000-01-01&to=2026-01-01", 400, "invalid_period"),
                ("from=yesterday", 422, "invalid_request"),
                ("", 422, "invalid_request"),
                ("from=2026-01-01&format=xml", 422, "invalid_request")):
            r = await client.get(f"{base}?{query}", headers=admin)
            assert r.status_code == status, (query, r.text)
            assert r.json()["error"]["code"] == code
        r = await client.get("/api/v1/transparency/sor-export?since=2026-02-30", headers=admin)
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_period"
        r = await client.get("/transparency/terrorist-channel-bans.json?from=2999-01-01")
        assert r.status_code == 400
        r = await client.get("/transparency/terrorist-channel-bans.json?from=2024-01-01"
                             "&to=2025-12-31")
        assert r.status_code == 400 and "366 days" in r.json()["error"]["message"]
        r = await client.get("/transparency?period=1999")
        assert r.status_code == 400 and "text/html" in r.headers["content-type"]
        assert "period is a year" in r.text
        assert (await client.get("/transparency?period=2026-13")).status_code == 400


async def test_public_page_and_daily_json_need_no_login(api: AppFactory) -> None:
    clock = ManualClock()
    async with api(clock=clock, job_concurrency=0) as client:
        await ban_two_channels(client, clock)
        clock.now = START + 2 * DAY + 12 * HOUR  # 3 January
        r = await client.get("/transparency/terrorist-channel-bans.json")
        assert r.status_code == 200
        body = r.json()
        assert body["to"] == "2026-01-03" and len(body["days"]) == 30
        assert body["total"] == 2
        last = {d["date"]: d["channels_banned"] for d in body["days"][-3:]}
        assert last == {"2026-01-01": 1, "2026-01-02": 1, "2026-01-03": 0}
        r = await client.get("/transparency/terrorist-channel-bans.json?from=2026-01-02"
                             "&to=2026-01-09")
        assert r.json()["days"] == [{"date": "2026-01-02", "channels_banned": 1},
                                    {"date": "2026-01-03", "channels_banned": 0}]

        page = await client.get("/transparency")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert page.headers["content-security-policy"] == CSP.decode()
        html = page.text
        assert "<script" not in html and "style=" not in html and "<style" not in html
        assert 'href="/static/transparency.css"' in html
        assert html.count("<svg") == 4
        assert 'aria-current="page">2026<' in html and "period=2026-01" in html
        summary = dict(re.findall(r"<tr><th scope=\"row\">([^<]+)</th><td>([^<]+)</td>", html))
        assert summary["Measures taken"] == "14"
        assert summary["Decided by automated means"] == "14"
        assert summary["Decided by people"] == "0"
        month = (await client.get("/transparency?period=2026-01")).text
        assert 'aria-current="page">Jan<' in month
        bars = re.findall(r'<g class="bar" data-label="([^"]+)" data-value="(\d+)">', month)
        assert ("Channel banned", "2") in bars and ("Refused at upload", "6") in bars
        assert ("2026-01-01", "1") in bars and ("2026-01-03", "0") in bars
        assert (await client.get("/static/transparency.css")).status_code == 200


async def test_public_routes_are_rate_limited_per_address(api: AppFactory) -> None:
    async with api(rate_limits=True) as client:
        for _ in range(RATE_TRANSPARENCY.limit):
            assert (await client.get("/transparency/terrorist-channel-bans.json")
                    ).status_code == 200
        r = await client.get("/transparency")
        assert r.status_code == 429 and "Retry-After" in r.headers

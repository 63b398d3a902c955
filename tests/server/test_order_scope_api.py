"""Orders within the law, over HTTP (issue 17, item 7): a TCO removal order only for
terrorist content with a TCO basis, DSA Art. 9 orders with their own basis and category,
unknown bases refused with 422 and nothing done, and an hourly rate above which orders
still execute but wait for an admin's confirmation and alert the admins."""

from __future__ import annotations

from typing import Any

from tests.conftest import AppFactory
from tests.server.channel_util import channel, internal_id, post
from tests.server.order_util import authority, member, order_body, submit
from tests.server.report_util import notices
from tidings.services.clock import ManualClock

NATIONAL = "Strafgesetzbuch § 130 (Volksverhetzung)"
SPEECH = "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"


def dsa_body(target: str, reference: str = "POL-1", **extra: Any) -> dict[str, Any]:
    return {"target": target, "reference": reference, "basis": "dsa_art9",
            "legal_basis": NATIONAL, "category": SPEECH,
            "reasons": "The post incites hatred against a group.", **extra}


async def test_orders_outside_their_legal_scope_are_refused_and_change_nothing(
        api: AppFactory) -> None:
    async with api() as client:
        alice = await member(client, "alice")
        admin = await member(client, "root_admin", "admin")
        bka = await authority(client, admin, "bka")
        await channel(client, alice, "news_desk")
        p = await post(client, alice, "news_desk", "an ordinary post")
        target = f"/c/news_desk/{p['number']}"
        cases = [
            (order_body(target, legal_basis="none", label="spam"), "unknown_legal_basis"),
            (order_body(target, basis="gdpr"), "unknown_legal_basis"),
            (order_body(target, label="spam"), "outside_tco_scope"),
            (order_body(target, label="other_illegal"), "outside_tco_scope"),
            (dsa_body(target, legal_basis="none"), "invalid_legal_basis"),
            (dsa_body(target, category=None), "invalid_category"),
            (dsa_body(target, category="STATEMENT_CATEGORY_OTHER_VIOLATION_TC"),
             "invalid_category"),
            (dsa_body(target, label="terrorist_content"), "outside_dsa_scope"),
            (dsa_body(target, territorial_scope=["XX"]), "invalid_member_state"),
        ]
        for body, code in cases:
            err = await submit(client, bka, body, status=422)
            assert err["error"]["code"] == code, (body, err)
            assert len(err["error"]["message"]) > 30  # an explanation, not just a code
        assert await submit(client, bka, {**order_body(target), "category": 7}, 422)
        assert (await client.get("/api/v1/orders", headers=admin)).json() == []
        shown = await client.get(f"/api/v1/channels/news_desk/posts/{p['number']}")
        assert shown.json()["state"] == "visible"
        assert [n for n in await notices(client, alice) if n["kind"] == "removal_order"] == []


async def test_a_dsa_order_carries_its_own_basis_category_and_scope(api: AppFactory) -> None:
    async with api(clock=ManualClock()) as client:
        alice = await member(client, "alice")
        admin = await member(client, "root_admin", "admin")
        mod = await member(client, "mod", "moderator")
        police = await authority(client, admin, "lka", "Landeskriminalamt Berlin", "DE")
        await channel(client, alice, "news_desk")
        p = await post(client, alice, "news_desk", "hateful words")
        pid = await internal_id(client, admin, "news_desk", p["number"])
        order = await submit(client, police, dsa_body(f"post:{pid}",
                                                       territorial_scope=["DE", "AT"]))
        assert order["status"] == "completed"
        assert order["scope"] == {
            "basis": "dsa_art9", "legal_basis": NATIONAL, "label": "category:other_illegal",
            "category": SPEECH, "territorial_scope": ["AT", "DE"],
            "target": {"kind": "post", "ref": str(pid), "url": None}}
        assert order["confirmation"]["form"] == "Regulation (EU) 2022/2065, Art. 9(1)"
        assert order["confirmation"]["territorial_scope"] == ["AT", "DE"]
        listed = (await client.get("/api/v1/orders", headers=mod)).json()
        assert listed[0]["scope"]["category"] == SPEECH  # staff see every order's scope
        gone = await client.get(f"/api/v1/channels/news_desk/posts/{p['number']}")
        assert gone.json()["state"] == "removed"
        [notice] = [n for n in await notices(client, alice) if n["kind"] == "removal_order"]
        assert notice["order"]["basis"] == "dsa_art9"
        assert "DSA Art. 20" in notice["redress"] and "TCO" not in notice["redress"]
        text = notice["statement"]["text"]
        assert "Regulation (EU) 2022/2065, Art. 9" in text and NATIONAL in text
        assert "Where: AT, DE." in text and "close variant" not in text
        r = await client.get("/api/v1/transparency/sor-export?since=2026-01-01", headers=admin)
        assert r.status_code == 200, r.text
        [line] = [x for x in r.text.splitlines() if "Landeskriminalamt" in x]
        assert f'"category": "{SPEECH}"' in line and '"territorial_scope": ["AT", "DE"]' in line
        report = (await client.get("/api/v1/transparency/report?from=2026-01-01&to=2026-01-01",
                                   headers=admin)).json()
        assert report["actions_by_category"] == {"category:other_illegal": 1}
        assert report["orders_received"] == 1


async def test_above_the_hourly_rate_orders_execute_and_wait_for_an_admin(
        api: AppFactory) -> None:
    clock = ManualClock()
    async with api(clock=clock, order_confirm_per_hour=2) as client:
        alice = await member(client, "alice")
        admin = await member(client, "root_admin", "admin")
        mod = await member(client, "mod", "moderator")
        bka = await authority(client, admin, "bka")
        other = await authority(client, admin, "ocrc", "OCLCTIC", "FR")
        await channel(client, alice, "news_desk")
        posts = [await post(client, alice, "news_desk", f"post {i}") for i in range(5)]
        urls = [f"/c/news_desk/{p['number']}" for p in posts]
        first = [await submit(client, bka, order_body(urls[i], f"B-{i}")) for i in range(2)]
        assert [o["needs_confirmation"] for o in first] == [False, False]
        third = await submit(client, bka, order_body(urls[2], "B-2"))
        assert third["status"] == "completed" and third["needs_confirmation"] is True
        gone = await client.get(f"/api/v1/channels/news_desk/posts/{posts[2]['number']}")
        assert gone.json()["state"] == "removed"  # executed at once, against the clock
        [alert] = [n for n in await notices(client, admin)
                   if n["kind"] == "removal_order_rate_alert"]
        assert alert["order_id"] == third["id"] and alert["orders_last_hour"] == 3
        # another authority has its own rate; an hour later bka's rate starts again
        assert not (await submit(client, other, order_body(
            urls[3], "O-1")))["needs_confirmation"]
        clock.advance(3_600_001)
        assert not (await submit(client, bka, order_body(
            urls[4], "B-4")))["needs_confirmation"]
        url = f"/api/v1/orders/{third['id']}/confirm"
        for who in (bka, mod, alice):
            assert (await client.post(url, headers=who)).status_code == 403
        r = await client.post(url, headers=admin)
        assert r.status_code == 200, r.text
        assert r.json()["confirmed_by"] == "root_admin" and r.json()["confirmed_ms"]
        again = await client.post(url, headers=admin)
        assert again.status_code == 409 and again.json()["error"]["code"] == "order_confirmed"
        plain = await client.post(f"/api/v1/orders/{first[0]['id']}/confirm", headers=admin)
        assert plain.status_code == 409
        assert plain.json()["error"]["code"] == "confirmation_not_needed"
        missing = await client.post("/api/v1/orders/ro_nothing/confirm", headers=admin)
        assert missing.status_code == 404
        verify = await client.get("/api/v1/admin/audit/verify", headers=admin)
        assert verify.json()["ok"] is True

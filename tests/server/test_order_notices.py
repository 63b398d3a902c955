"""TCO Art. 11: the content provider is told about a removal order, unless the authority
withholds it (six weeks, extendable once by six); the durable job sends it once when the
withholding ends. Time is a ManualClock; the job runner polls once a second."""

from __future__ import annotations

import asyncio

from tests.conftest import AppFactory
from tests.server.channel_util import channel, post
from tests.server.order_util import DAY, authority, eventually, member, order_body, submit
from tests.server.report_util import notices
from tidings.services.clock import ManualClock


def _order_notices(items: list[dict[str, object]]) -> list[dict[str, object]]:
    return [n for n in items if n["kind"] == "removal_order"]


async def test_withheld_notice_waits_for_the_clock_and_is_sent_once(api: AppFactory) -> None:
    clock = ManualClock()
    async with api(clock=clock) as client:
        alice = await member(client, "alice")
        admin = await member(client, "root_admin", "admin")
        bka = await authority(client, admin, "bka")
        await channel(client, alice, "news_desk")
        p = await post(client, alice, "news_desk", "a call to arms")
        order = await submit(client, bka, order_body(f"/c/news_desk/{p['number']}",
                                                     withhold_days=42))
        assert order["status"] == "completed"
        assert order["withhold_until_ms"] == order["received_ms"] + 42 * DAY
        clock.advance(41 * DAY)
        await asyncio.sleep(1.1)  # a runner poll passes: the job is not due yet
        assert _order_notices(await notices(client, alice)) == []
        # the authority extends once (six more weeks); a second extension is refused
        r = await client.post(f"/api/v1/orders/{order['id']}/withholding/extend", headers=bka)
        assert r.status_code == 200, r.text
        assert r.json()["withhold_until_ms"] == order["received_ms"] + 84 * DAY
        r = await client.post(f"/api/v1/orders/{order['id']}/withholding/extend", headers=bka)
        assert r.status_code == 409 and r.json()["error"]["code"] == "withholding_extended"
        clock.advance(2 * DAY)  # past the first six weeks: the first job runs and waits
        await asyncio.sleep(1.1)
        assert _order_notices(await notices(client, alice)) == []
        clock.advance(42 * DAY)
        sent = await eventually(lambda: notices(client, alice),
                                lambda items: bool(_order_notices(items)))
        [notice] = _order_notices(sent)
        assert notice["order"]["reference"] == "BKA-2026-0001"
        assert "TCO Art. 10" in notice["redress"]
        await asyncio.sleep(1.1)
        assert len(_order_notices(await notices(client, alice))) == 1
        got = (await client.get(f"/api/v1/orders/{order['id']}", headers=bka)).json()
        assert got["notice_sent_ms"] is not None
        r = await client.post(f"/api/v1/orders/{order['id']}/withholding/extend", headers=bka)
        assert r.status_code == 409 and r.json()["error"]["code"] == "withholding_ended"


async def test_without_withholding_the_notice_is_immediate_and_only_the_issuer_extends(
        api: AppFactory) -> None:
    async with api(clock=ManualClock()) as client:
        alice = await member(client, "alice")
        admin = await member(client, "root_admin", "admin")
        bka = await authority(client, admin, "bka")
        other = await authority(client, admin, "ocrc", "OCLCTIC", "FR")
        await channel(client, alice, "news_desk")
        p1 = await post(client, alice, "news_desk", "one")
        p2 = await post(client, alice, "news_desk", "two")
        order = await submit(client, bka, order_body(f"/c/news_desk/{p1['number']}", "A-1"))
        assert len(_order_notices(await notices(client, alice))) == 1
        r = await client.post(f"/api/v1/orders/{order['id']}/withholding/extend", headers=bka)
        assert r.status_code == 409 and r.json()["error"]["code"] == "not_withheld"
        held = await submit(client, bka, order_body(f"/c/news_desk/{p2['number']}", "A-2",
                                                     withhold_days=7))
        for who, status in ((other, 404), (admin, 403), (alice, 403)):
            r = await client.post(f"/api/v1/orders/{held['id']}/withholding/extend",
                                  headers=who)
            assert r.status_code == status, r.text
        assert len(_order_notices(await notices(client, alice))) == 1

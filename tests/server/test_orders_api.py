"""Removal orders (TCO Art. 3): the target is disabled within the request, the Annex II
confirmation, authorisation, bad input, cannot-comply (Annex III) and the one-hour clock."""

from __future__ import annotations

import time

import httpx

from tests.conftest import AppFactory
from tests.server.channel_util import channel, photo, post, upload, user
from tests.server.order_util import authority, order_body, submit
from tests.server.report_util import notices, staff
from tidings.moderation.audit import AuditRecord
from tidings.services.clock import ManualClock
from tidings.storage.actions import ActionStore

MINUTE = 60_000


async def test_an_order_makes_a_post_unreachable_at_once_and_confirms_annex_ii(
        api: AppFactory) -> None:
    async with api() as client:
        alice = await user(client, "alice")
        admin = await staff(client, "root_admin", "admin")
        bka = await authority(client, admin, "bka")
        await channel(client, alice, "news_desk")
        media = await upload(client, alice, photo(seed=3))
        p = await post(client, alice, "news_desk", "glorious martyrdom operation tonight",
                       [media["sha256"]])
        assert (await client.get(f"/media/{media['sha256']}")).status_code == 200
        url = f"http://127.0.0.1:8080/c/news_desk/{p['id']}"
        started = time.monotonic()
        order = await submit(client, bka, order_body(url))
        elapsed = time.monotonic() - started
        assert elapsed < 5, elapsed
        assert order["status"] == "completed"
        assert order["target"] == {"kind": "post", "ref": str(p["id"]), "url": url}
        assert 0 <= order["completed_ms"] - order["received_ms"] < 5000
        # unreachable through the API, the public web view, search and the media URL
        got = (await client.get(f"/api/v1/channels/news_desk/posts/{p['id']}",
                                headers=alice)).json()
        assert got["state"] == "removed" and got["text"] == "" and got["media"] == []
        history = (await client.get("/api/v1/channels/news_desk/posts")).json()
        assert all(item["id"] != p["id"] for item in history["posts"])
        page = await client.get(f"/c/news_desk/{p['id']}")
        assert page.status_code == 410 and "martyrdom" not in page.text
        assert "martyrdom" not in (await client.get("/c/news_desk")).text
        found = (await client.get("/api/v1/search/posts", params={"q": "martyrdom"})).json()
        assert found == []
        assert (await client.get(f"/media/{media['sha256']}")).status_code == 404
        # Annex II, in the answer and retrievable
        conf = order["confirmation"]
        assert conf["order_reference"] == "BKA-2026-0001"
        assert conf["issuing_authority"] == "Bundeskriminalamt"
        assert conf["member_state"] == "DE"
        assert conf["target"]["url"] == url
        assert conf["received_ms"] == order["received_ms"]
        assert conf["removed"] is True and conf["removed_ms"] == order["completed_ms"]
        assert conf["received_at"].endswith("Z") and conf["removed_at"].endswith("Z")
        assert conf["within_one_hour"] is True
        assert conf["hosting_service_provider"] == "Tidings"
        assert conf["contact_point"] == "http://127.0.0.1:8080/api/v1/orders"
        again = await client.get(f"/api/v1/orders/{order['id']}/confirmation", headers=bka)
        assert again.status_code == 200 and again.json() == conf
        # the content provider is told why (Art. 11), with the statement of reasons
        [notice] = [n for n in await notices(client, alice) if n["kind"] == "removal_order"]
        assert notice["order"]["reference"] == "BKA-2026-0001"
        assert "glorifies" in notice["order"]["reasons"]
        assert "competent authority" in notice["statement"]["text"]
        assert notice["case_id"] == order["case_id"]
        # recorded as a moderation action and in the audit log, with the order named
        mod = await staff(client, "mod_anna", "moderator")
        case = (await client.get(f"/api/v1/mod/cases/{order['case_id']}", headers=mod)).json()
        assert case["decision"] == "remove" and case["sources"] == ["legal_order"]
        audit = await client.get("/api/v1/admin/audit/verify", headers=admin)
        assert audit.json()["ok"] is True
        entries = await audit_entries(client)
        received = [e for e in entries if e.action == "removal_order"]
        assert received[0].details["reference"] == "BKA-2026-0001"
        removal = [e for e in entries if e.action == "remove_post"]
        assert removal[0].rule == f"removal_order:{order['id']}"
        assert removal[0].actor == "authority:bka"


async def audit_entries(client: httpx.AsyncClient) -> list[AuditRecord]:
    db = client.app.state.db  # type: ignore[attr-defined]
    async with db.read() as conn:
        chain = await ActionStore().audit_chain(conn)
    return [c.record for c in chain]

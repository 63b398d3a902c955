"""Removal orders (TCO Art. 3): the target is disabled within the request, the Annex II
confirmation, authorisation, bad input, cannot-comply (Annex III) and the one-hour clock."""

from __future__ import annotations

import re
import time

import httpx

from tests.apps import kernel_of
from tests.conftest import AppFactory
from tests.server.channel_util import channel, internal_id, photo, post, upload
from tests.server.order_util import authority, member, order_body, submit
from tests.server.report_util import notices, staff
from tidings.moderation.audit import AuditRecord
from tidings.services.clock import ManualClock
from tidings.storage.actions import ActionStore

MINUTE = 60_000


async def test_an_order_makes_a_post_unreachable_at_once_and_confirms_annex_ii(
        api: AppFactory) -> None:
    async with api() as client:
        alice = await member(client, "alice")
        admin = await member(client, "root_admin", "admin")
        bka = await authority(client, admin, "bka")
        await channel(client, alice, "news_desk")
        media = await upload(client, alice, photo(seed=3))
        p = await post(client, alice, "news_desk", "glorious martyrdom operation tonight",
                       [media["sha256"]])
        assert (await client.get(f"/media/{media['sha256']}")).status_code == 200
        url = f"http://127.0.0.1:8080/c/news_desk/{p['number']}"
        started = time.monotonic()
        order = await submit(client, bka, order_body(url))
        elapsed = time.monotonic() - started
        assert elapsed < 5, elapsed
        assert order["status"] == "completed"
        pid = await internal_id(client, admin, "news_desk", p["number"])
        assert order["target"] == {"kind": "post", "ref": str(pid), "url": url}
        assert 0 <= order["completed_ms"] - order["received_ms"] < 5000
        # unreachable through the API, the public web view, search and the media URL
        got = (await client.get(f"/api/v1/channels/news_desk/posts/{p['number']}",
                                headers=alice)).json()
        assert got["state"] == "removed" and "text" not in got and "media" not in got
        history = (await client.get("/api/v1/channels/news_desk/posts")).json()
        assert all(item["number"] != p["number"] for item in history["posts"])
        page = await client.get(f"/c/news_desk/{p['number']}")
        assert page.status_code == 410 and "martyrdom" not in page.text
        assert "martyrdom" not in (await client.get("/c/news_desk")).text
        found = (await client.get("/api/v1/search/posts", params={"q": "martyrdom"})).json()
        assert found == []
        assert (await client.get(f"/media/{media['sha256']}")).status_code == 410
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
        mod = await member(client, "mod_anna", "moderator")
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
    db = kernel_of(client).db
    async with db.read() as conn:
        chain = await ActionStore().audit_chain(conn)
    return [c.record for c in chain]


async def test_only_authorities_submit_and_each_sees_only_its_own(api: AppFactory) -> None:
    async with api(clock=ManualClock()) as client:
        alice = await member(client, "alice")
        admin = await member(client, "root_admin", "admin")
        mod = await member(client, "mod_anna", "moderator")
        auditor = await member(client, "aud_ida", "auditor")
        bka = await authority(client, admin, "bka")
        ocrc = await authority(client, admin, "ocrc", "OCLCTIC", "FR")
        await channel(client, alice, "news_desk")
        p1 = await post(client, alice, "news_desk", "one")
        p2 = await post(client, alice, "news_desk", "two")
        for who in (alice, mod, admin):
            r = await client.post("/api/v1/orders", headers=who,
                                  json=order_body(f"/c/news_desk/{p1['number']}"))
            assert r.status_code == 403, r.text
            assert r.json()["error"]["code"] == "forbidden_role"
        assert (await client.post("/api/v1/orders", json=order_body("post:1"))).status_code == 401
        # an authority cannot be created by a moderator, nor with a bad member state
        r = await client.post("/api/v1/admin/authorities", headers=mod, json={
            "username": "x_auth", "authority_name": "X", "member_state": "DE"})
        assert r.status_code == 403
        r = await client.post("/api/v1/admin/authorities", headers=admin, json={
            "username": "x_auth", "authority_name": "X", "member_state": "US"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_member_state"
        mine = await submit(client, bka, order_body(f"/c/news_desk/{p1['number']}", "BKA-1"))
        theirs = await submit(client, ocrc, order_body(f"/c/news_desk/{p2['number']}", "FR-1"))
        assert theirs["member_state"] == "FR" and theirs["authority_name"] == "OCLCTIC"
        own = (await client.get("/api/v1/orders", headers=bka)).json()
        assert [o["id"] for o in own] == [mine["id"]]
        r = await client.get(f"/api/v1/orders/{theirs['id']}", headers=bka)
        assert r.status_code == 404 and r.json()["error"]["code"] == "order_not_found"
        r = await client.get(f"/api/v1/orders/{theirs['id']}/confirmation", headers=bka)
        assert r.status_code == 404
        for reader in (admin, mod, auditor):
            every = (await client.get("/api/v1/orders", headers=reader)).json()
            assert {o["id"] for o in every} == {mine["id"], theirs["id"]}
        assert (await client.get("/api/v1/orders", headers=alice)).status_code == 403
        assert (await client.get(f"/api/v1/orders/{mine['id']}",
                                 headers=alice)).status_code == 403
        # a reference is used once per authority; the other authority may reuse it
        r = await client.post("/api/v1/orders", headers=bka,
                              json=order_body(f"/c/news_desk/{p2['number']}", "BKA-1"))
        assert r.status_code == 409 and r.json()["error"]["code"] == "duplicate_reference"
        assert len((await client.get("/api/v1/orders", headers=bka)).json()) == 1


async def test_bad_orders_are_refused_and_nothing_is_stored(api: AppFactory) -> None:
    async with api(clock=ManualClock()) as client:
        alice = await member(client, "alice")
        admin = await member(client, "root_admin", "admin")
        bka = await authority(client, admin, "bka")
        await channel(client, alice, "news_desk")
        p = await post(client, alice, "news_desk", "still here")
        cases = [
            (order_body("post:999999"), 404, "target_not_found"),
            (order_body("/c/no_such_channel"), 404, "target_not_found"),
            (order_body(f"/c/other_channel/{p['number']}"), 404, "target_not_found"),
            (order_body(f"/c/news_desk/{p['number'] + 1}"), 404, "target_not_found"),
            (order_body("account:nobody_here"), 404, "target_not_found"),
            (order_body("channel:" + "9" * 25), 404, "target_not_found"),
            (order_body(f"post:{2**63}"), 422, "invalid_target"),
            (order_body(f"https://evil.example/c/news_desk/{p['number']}"), 422, "foreign_url"),
            (order_body("https://127.0.0.1:8080/u/alice"), 422, "invalid_target"),
            (order_body("message:abc"), 422, "invalid_target"),
            (order_body(f"/c/news_desk/{p['number']}", label="cat_pictures"), 422, "invalid_label"),
            (order_body(f"/c/news_desk/{p['number']}", reference="  "), 400, "invalid_reference"),
            (order_body(f"/c/news_desk/{p['number']}", reasons=""), 400, "invalid_reasons"),
            (order_body(f"/c/news_desk/{p['number']}", withhold_days=43), 422, "invalid_request"),
            ({"target": f"/c/news_desk/{p['number']}"}, 422, "invalid_request"),
        ]
        for body, status, code in cases:
            r = await client.post("/api/v1/orders", headers=bka, json=body)
            assert r.status_code == status, (body, r.text)
            assert r.json()["error"]["code"] == code, (body, r.text)
        assert (await client.get("/api/v1/orders", headers=bka)).json() == []
        got = (await client.get(f"/api/v1/channels/news_desk/posts/{p['number']}")).json()
        assert got["state"] == "visible" and got["text"] == "still here"


async def test_channel_and_account_orders_disable_them(api: AppFactory) -> None:
    async with api(clock=ManualClock()) as client:
        alice, bob = await member(client, "alice"), await member(client, "bob")
        admin = await member(client, "root_admin", "admin")
        bka = await authority(client, admin, "bka")
        await channel(client, alice, "attack_news")
        await post(client, alice, "attack_news", "recruiting now")
        order = await submit(client, bka, order_body("http://127.0.0.1:8080/c/attack_news"))
        assert order["status"] == "completed" and order["target"]["kind"] == "channel"
        assert order["confirmation"]["action"] == "access_disabled"
        assert (await client.get("/api/v1/channels/attack_news")).status_code == 410
        assert (await client.get("/c/attack_news")).status_code == 410
        assert (await client.get("/api/v1/search/channels",
                                 params={"q": "attack"})).json() == []
        order = await submit(client, bka, order_body("account:bob", "BKA-2"))
        assert order["status"] == "completed" and order["target"]["kind"] == "account"
        r = await client.get("/api/v1/accounts/me", headers=bob)
        assert r.status_code == 403 and r.json()["error"]["code"] == "account_suspended"


async def test_open_orders_count_down_go_overdue_and_get_a_cannot_comply_answer(
        api: AppFactory) -> None:
    clock = ManualClock()
    async with api(clock=clock, console_idle_timeout_s=3 * 3600) as client:
        admin = await member(client, "root_admin", "admin")
        mod = await staff(client, "mod_anna", "moderator")
        auditor = await member(client, "aud_ida", "auditor")
        bka = await authority(client, admin, "bka")
        # a staff account is never suspended automatically: the order stays open
        order = await submit(client, bka, order_body("account:mod_anna", "BKA-9"))
        assert order["status"] == "open" and order["confirmation"] is None
        assert order["execution_error"]["code"] == "protected_account"
        assert order["remaining_ms"] == 60 * MINUTE and order["overdue"] is False
        r = await client.get(f"/api/v1/orders/{order['id']}/confirmation", headers=bka)
        assert r.status_code == 409 and r.json()["error"]["code"] == "order_open"
        csrf = await console_login(client, "mod_anna")
        page = (await client.get("/console/orders")).text
        assert "BKA-9" in page and "60 min left" in page and "No overdue orders" in page
        clock.advance(61 * MINUTE)
        got = (await client.get(f"/api/v1/orders/{order['id']}", headers=mod)).json()
        assert got["overdue"] is True and got["remaining_ms"] == -MINUTE
        page = (await client.get("/console/orders")).text
        overdue_part = page.split("<h2>Overdue</h2>")[1].split("<h2>Open</h2>")[0]
        assert "BKA-9" in overdue_part and "overdue by 1 min" in overdue_part
        detail = (await client.get(f"/console/orders/{order['id']}")).text
        assert "Bundeskriminalamt" in detail and "cannot-comply" in detail
        # only moderators and admins answer; the authority cannot, nor can an auditor
        body = {"reason": "manifest_error", "details": "The account is our own moderator's."}
        for who, status in ((bka, 403), (auditor, 403)):
            r = await client.post(f"/api/v1/orders/{order['id']}/cannot-comply", headers=who,
                                  json=body)
            assert r.status_code == status, r.text
        r = await client.post(f"/api/v1/orders/{order['id']}/cannot-comply", headers=mod,
                              json={"reason": "bored", "details": "x"})
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_reason"
        r = await client.post(f"/console/orders/{order['id']}/cannot-comply", data={
            "csrf": csrf, **body})
        assert r.status_code == 303
        answered = (await client.get(f"/api/v1/orders/{order['id']}", headers=bka)).json()
        assert answered["status"] == "cannot_comply"
        assert answered["cannot_comply_reason"] == "manifest_error"
        assert answered["overdue"] is False
        annex = (await client.get(f"/api/v1/orders/{order['id']}/confirmation",
                                  headers=bka)).json()
        assert annex["form"].endswith("Annex III") and annex["reason"] == "manifest_error"
        assert annex["details"] == body["details"] and annex["order_reference"] == "BKA-9"
        r = await client.post(f"/api/v1/orders/{order['id']}/cannot-comply", headers=mod,
                              json=body)
        assert r.status_code == 409
        page = (await client.get("/console/orders")).text
        assert "No overdue orders" in page and "No open orders" in page
        me = (await client.get("/api/v1/accounts/me", headers=mod))
        assert me.status_code == 200  # never suspended


async def test_staff_execute_an_open_order_from_the_console(api: AppFactory) -> None:
    async with api(clock=ManualClock()) as client:
        admin = await member(client, "root_admin", "admin")
        await staff(client, "mod_anna", "moderator")
        bka = await authority(client, admin, "bka")
        order = await submit(client, bka, order_body("account:root_admin", "BKA-3"))
        assert order["status"] == "open"
        csrf = await console_login(client, "mod_anna")
        r = await client.post(f"/console/orders/{order['id']}/execute", data={"csrf": csrf})
        assert r.status_code == 303 and "error" not in r.headers["location"]
        done = (await client.get(f"/api/v1/orders/{order['id']}", headers=bka)).json()
        assert done["status"] == "completed" and done["confirmation"]["removed"] is True
        assert (await client.get("/api/v1/accounts/me", headers=admin)).status_code == 403


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


async def console_login(client: httpx.AsyncClient, name: str) -> str:
    page = await client.get("/console/login")
    r = await client.post("/console/login", data={
        "username": name, "password": "a long enough passphrase", "csrf": _csrf(page.text)})
    assert r.status_code == 303, r.text
    home = await client.get("/console")
    assert "Removal orders" in home.text
    return _csrf(home.text)

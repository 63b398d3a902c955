"""The review queue: grouping, priority, leases, decisions, statements of reasons, appeals."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.apps import attach, kernel_of
from tests.conftest import AppFactory, bearer, register
from tests.server.channel_util import channel, post, user
from tests.server.hold_util import assert_held_by_the_bank, banked_photo
from tests.server.report_util import franked, keyring, notices, report, report_body, staff
from tidings.moderation.review import TCO_COMPLAINT_ANSWER_MS
from tidings.services.clock import ManualClock
from tidings.services.streams import StreamService

MINUTE = 60_000


async def decide(client: httpx.AsyncClient, mod: dict[str, str], case_id: str, action: str,
                 policy: str = "terrorist_content", status: int = 200) -> dict[str, Any]:
    r = await client.post(f"/api/v1/mod/cases/{case_id}/decision", headers=mod,
                          json={"action": action, "policy": policy})
    assert r.status_code == status, r.text
    result: dict[str, Any] = r.json()
    return result


async def test_queue_groups_and_orders_by_source_then_age(api: AppFactory) -> None:
    clock = ManualClock()
    async with api(clock=clock) as client:
        alice, bob = await user(client, "alice"), await user(client, "bob")
        ngo = await user(client, "ngo")
        await user(client, "mallory")
        admin = await staff(client, "root_admin", "admin")
        mod = await staff(client, "mod_anna", "moderator")
        await client.put("/api/v1/admin/users/ngo/trusted-flagger", headers=admin, json={})
        await channel(client, alice, "news_desk")
        p1 = await post(client, alice, "news_desk", "one")
        p2 = await post(client, alice, "news_desk", "two")
        user_case = (await report(client, bob, report_body("post", channel="news_desk",
                                                           number=p1["number"])))["case_id"]
        clock.advance(MINUTE)
        picture = await banked_photo(client, admin, alice)
        held = await post(client, alice, "news_desk", "held one", [picture])
        assert held["state"] == "held"
        clock.advance(MINUTE)
        msg = franked(keyring(client), "threat", "mallory", "bob", clock())
        body = report_body("message", category="harassment")
        body["message"] = msg
        private_case = (await report(client, bob, body))["case_id"]
        clock.advance(MINUTE)
        flagger_case = (await report(client, ngo, report_body(
            "post", channel="news_desk", number=p2["number"])))["case_id"]
        queue = (await client.get("/api/v1/mod/queue", headers=mod)).json()
        hold_case = next(c["id"] for c in queue if c["source"] == "automated_hold")
        assert [c["id"] for c in queue] == [flagger_case, private_case, hold_case, user_case]
        # a report about the held post joins its case, which keeps its hold
        joined = await report(client, bob, report_body("post", channel="news_desk",
                                                       number=held["number"]))
        assert joined["case_id"] == hold_case
        case = (await client.get(f"/api/v1/mod/cases/{hold_case}", headers=mod)).json()
        assert case["hold_count"] == 1 and case["report_count"] == 1
        assert_held_by_the_bank(case)
        filtered = (await client.get("/api/v1/mod/queue?source=trusted_flagger",
                                     headers=mod)).json()
        assert [c["id"] for c in filtered] == [flagger_case]


async def test_a_lease_holds_a_case_for_one_moderator_until_it_expires(api: AppFactory) -> None:
    clock = ManualClock()
    async with api(clock=clock) as client:
        alice = await user(client, "alice")
        anna = await staff(client, "mod_anna", "moderator")
        ben = await staff(client, "mod_ben", "moderator")
        await channel(client, alice, "news_desk")
        case_id = (await report(client, alice, report_body("channel", channel="news_desk"))
                   )["case_id"]
        r = await client.post(f"/api/v1/mod/cases/{case_id}/claim", headers=anna,
                              json={"lease_s": 600})
        assert r.status_code == 200 and r.json()["lease_holder"] == "mod_anna"
        assert (await client.get("/api/v1/mod/queue", headers=ben)).json() == []
        r = await client.post(f"/api/v1/mod/cases/{case_id}/claim", headers=ben, json={})
        assert r.status_code == 409 and r.json()["error"]["code"] == "lease_held"
        await decide(client, ben, case_id, "no_violation", status=409)
        clock.advance(601_000)
        queue = (await client.get("/api/v1/mod/queue", headers=ben)).json()
        assert [c["id"] for c in queue] == [case_id]  # expiry released it
        r = await client.post(f"/api/v1/mod/cases/{case_id}/claim", headers=ben, json={})
        assert r.status_code == 200 and r.json()["lease_holder"] == "mod_ben"
        err = await decide(client, anna, case_id, "no_violation", status=409)
        assert err["error"]["code"] == "lease_held"


async def test_remove_sends_a_statement_and_an_appeal_restores_exactly(
        api: AppFactory) -> None:
    clock = ManualClock()
    async with api(clock=clock) as client:
        session = await register(client, "alice")
        alice = bearer(session)
        bob = await user(client, "bob")
        anna = await staff(client, "mod_anna", "moderator")
        ben = await staff(client, "mod_ben", "moderator")
        await channel(client, alice, "news_desk")
        p = await post(client, alice, "news_desk", "the original words")
        case_id = (await report(client, bob, report_body("post", channel="news_desk",
                                                         number=p["number"])))["case_id"]
        done = await decide(client, anna, case_id, "remove", "terrorist_content")
        assert done["state"] == "decided" and done["policy"] == "category:terrorist_content"
        url = f"/api/v1/channels/news_desk/posts/{p['number']}"
        gone = (await client.get(url, headers=bob)).json()
        assert gone["state"] == "removed" and "text" not in gone
        [sor] = await notices(client, alice)
        assert sor["kind"] == "statement_of_reasons" and sor["case_id"] == case_id
        assert "Your content was removed" in sor["statement"]["text"]
        assert "2021/784" in sor["statement"]["text"]
        assert "mod_anna" not in json.dumps(sor) and "bob" not in json.dumps(sor)
        # it also went to the user's device stream (and so over the WebSocket)
        streams: StreamService = kernel_of(client).streams
        events = await streams.read(session["device_id"], 0, 100)
        assert [e.kind for e in events if e.kind == "notice"] == ["notice"]
        # the notifier is told the outcome
        [outcome] = await notices(client, bob)
        assert outcome["kind"] == "report_outcome"
        status = (await client.get("/api/v1/reports/1", headers=bob)).json()
        assert status["status"] == "decided" and "acted" in status["outcome"]
        # appeals: only the affected user, within six months
        r = await client.post(f"/api/v1/cases/{case_id}/appeal", headers=bob,
                              json={"text": "mine"})
        assert r.status_code == 404
        clock.advance(MINUTE)
        r = await client.post(f"/api/v1/cases/{case_id}/appeal", headers=alice,
                              json={"text": "This is news reporting, not glorification."})
        assert r.status_code == 201, r.text
        assert r.json()["answer_due_at"] == clock() + TCO_COMPLAINT_ANSWER_MS
        queue = (await client.get("/api/v1/mod/queue", headers=ben)).json()
        assert queue[0]["id"] == case_id and queue[0]["appeal_due_at"] is not None
        # the first moderator may not decide the appeal
        r = await client.post(f"/api/v1/mod/cases/{case_id}/appeal-decision", headers=anna,
                              json={"decision": "reverse"})
        assert r.status_code == 409 and r.json()["error"]["code"] == "same_moderator"
        r = await client.post(f"/api/v1/mod/cases/{case_id}/appeal-decision", headers=ben,
                              json={"decision": "reverse", "answer": "You are right."})
        assert r.status_code == 200, r.text
        back = (await client.get(url, headers=bob)).json()
        assert back["state"] == "visible" and back["text"] == "the original words"
        assert back["media"] == p["media"]
        answer = (await notices(client, alice))[0]
        assert answer["kind"] == "appeal_decision" and answer["decision"] == "reverse"
        assert answer["answer"] == "You are right."
        log = (await client.get("/api/v1/channels/news_desk/updates?since=0")).json()
        assert [u["kind"] for u in log["updates"]] == ["post", "delete", "post"]


async def test_appeal_window_closes_after_six_months(api: AppFactory) -> None:
    clock = ManualClock()
    async with api(clock=clock) as client:
        alice = await user(client, "alice")
        anna = await staff(client, "mod_anna", "moderator")
        await channel(client, alice, "news_desk")
        p = await post(client, alice, "news_desk", "words")
        case_id = (await report(client, alice, report_body(
            "post", channel="news_desk", number=p["number"], category="spam")))["case_id"]
        await decide(client, anna, case_id, "remove", "spam")
        clock.advance(190 * 24 * 3600 * 1000)
        r = await client.post(f"/api/v1/cases/{case_id}/appeal", headers=alice,
                              json={"text": "late"})
        assert r.status_code == 409 and r.json()["error"]["code"] == "appeal_window_closed"


async def test_ban_suspend_no_violation_and_escalate(api: AppFactory) -> None:
    async with api() as client:
        alice, bob = await user(client, "alice"), await user(client, "bob")
        anna = await staff(client, "mod_anna", "moderator")
        ben = await staff(client, "mod_ben", "moderator")
        await channel(client, alice, "news_desk")
        ch_case = (await report(client, bob, report_body("channel", channel="news_desk"))
                   )["case_id"]
        assert (await decide(client, anna, ch_case, "escalate"))["state"] == "escalated"
        await decide(client, anna, ch_case, "ban_channel", "violent_extremism")
        r = await client.get("/api/v1/channels/news_desk", headers=bob)
        assert r.status_code == 410  # banned: gone for everyone but staff
        acct_case = (await report(client, bob, report_body("account", account="alice"))
                     )["case_id"]
        await decide(client, anna, acct_case, "suspend_account", "other")
        assert (await client.get("/api/v1/accounts/me", headers=alice)).status_code == 403
        assert (await notices(client, alice))[0]["kind"] == "statement_of_reasons"
        r = await client.post(f"/api/v1/cases/{acct_case}/appeal", headers=alice,
                              json={"text": "x"})
        assert r.status_code == 201, r.text
        assert (await client.get("/api/v1/accounts/me", headers=alice)).status_code == 403
        await client.post(f"/api/v1/mod/cases/{acct_case}/appeal-decision", headers=ben,
                          json={"decision": "reverse"})
        assert (await client.get("/api/v1/accounts/me", headers=alice)).status_code == 200
        # an automated hold judged fine is published
        await channel(client, bob, "bob_desk")
        admin = await staff(client, "root_admin", "admin")
        picture = await banked_photo(client, admin, bob)
        held = await post(client, bob, "bob_desk", "fine after all", [picture])
        assert held["state"] == "held"
        queue = (await client.get("/api/v1/mod/queue?source=automated_hold",
                                  headers=anna)).json()
        assert len(queue) == 1 and queue[0]["hold_count"] == 1
        # the holds themselves (the upload's and the post's) told bob why (DSA Art. 17)
        statements = [n for n in await notices(client, bob)
                      if n["kind"] == "statement_of_reasons"]
        assert [(n["decision"], n["case_id"]) for n in statements] == [("hold", None)] * 2
        await decide(client, anna, queue[0]["id"], "no_violation", "other")
        shown = (await client.get(f"/api/v1/channels/bob_desk/posts/{held['number']}",
                                  headers=alice)).json()
        assert shown["state"] == "visible"
        # judged fine: no statement of a removal follows
        assert [n for n in await notices(client, bob)
                if n["kind"] == "statement_of_reasons"] == statements
        err = await decide(client, anna, queue[0]["id"], "remove", "nonsense", status=400)
        assert err["error"]["code"] == "unknown_policy"


async def test_auditors_read_but_do_not_decide(api: AppFactory) -> None:
    async with api() as client:
        alice = await user(client, "alice")
        auditor = await staff(client, "audit_eve", "auditor")
        await channel(client, alice, "news_desk")
        case_id = (await report(client, alice, report_body("channel", channel="news_desk"))
                   )["case_id"]
        assert (await client.get("/api/v1/mod/queue", headers=auditor)).status_code == 200
        assert (await client.get(f"/api/v1/mod/cases/{case_id}", headers=auditor)
                ).status_code == 200
        await decide(client, auditor, case_id, "no_violation", status=403)
        assert (await client.get("/api/v1/mod/queue", headers=alice)).status_code == 403


async def test_the_statement_of_reasons_arrives_over_the_websocket(live_server: Any) -> None:
    from tests.server.test_gateway import connect, events_until_live, recv

    async with live_server() as server, httpx.AsyncClient(base_url=server.url) as client:
        attach(client, server.app)
        session = await register(client, "alice")
        alice = bearer(session)
        anna = await staff(client, "mod_anna", "moderator")
        await channel(client, alice, "news_desk")
        p = await post(client, alice, "news_desk", "words")
        case_id = (await report(client, alice, report_body(
            "post", channel="news_desk", number=p["number"], category="spam")))["case_id"]
        conn = await connect(server, session)
        try:
            await events_until_live(conn)
            await decide(client, anna, case_id, "remove", "spam")
            frame = await recv(conn)
            assert frame["type"] == "event" and frame["kind"] == "notice"
            assert frame["body"]["kind"] == "statement_of_reasons"
            assert frame["body"]["case_id"] == case_id
            assert "Your content was removed" in frame["body"]["statement"]["text"]
        finally:
            await conn.close()


async def test_concurrent_claims_have_one_winner(api: AppFactory) -> None:
    import asyncio

    async with api() as client:
        alice = await user(client, "alice")
        mods = [await staff(client, f"mod_{n}", "moderator") for n in ("anna", "ben", "cleo")]
        await channel(client, alice, "news_desk")
        case_id = (await report(client, alice, report_body("channel", channel="news_desk"))
                   )["case_id"]
        results = await asyncio.gather(*(
            client.post(f"/api/v1/mod/cases/{case_id}/claim", headers=m, json={})
            for m in mods))
        assert sorted(r.status_code for r in results) == [200, 409, 409]
        holders = {r.json()["lease_holder"] for r in results if r.status_code == 200}
        case = (await client.get(f"/api/v1/mod/cases/{case_id}", headers=mods[0])).json()
        assert {case["lease_holder"]} == holders


async def test_an_edit_held_by_the_gate_joins_the_posts_case(api: AppFactory) -> None:
    async with api() as client:
        alice, bob = await user(client, "alice"), await user(client, "bob")
        mod = await staff(client, "mod_anna", "moderator")
        admin = await staff(client, "root_admin", "admin")
        await channel(client, alice, "news_desk")
        p = await post(client, alice, "news_desk", "fine text")
        case_id = (await report(client, bob, report_body("post", channel="news_desk",
                                                         number=p["number"])))["case_id"]
        picture = await banked_photo(client, admin, alice)
        r = await client.patch(f"/api/v1/channels/news_desk/posts/{p['number']}", headers=alice,
                               json={"text": "edited into something banked", "media": [picture]})
        assert r.status_code == 200 and r.json()["state"] == "held"
        case = (await client.get(f"/api/v1/mod/cases/{case_id}", headers=mod)).json()
        assert case["hold_count"] == 1 and case["report_count"] == 1
        assert "automated_hold" in case["sources"]
        assert_held_by_the_bank(case)
        assert case["content"]["text"] == "edited into something banked"


async def test_a_decision_that_cannot_be_applied_leaves_the_case_waiting(
        api: AppFactory) -> None:
    async with api() as client:
        alice, bob = await user(client, "alice"), await user(client, "bob")
        mod = await staff(client, "mod_anna", "moderator")
        await channel(client, alice, "news_desk")
        case_id = (await report(client, bob, report_body("channel", channel="news_desk"))
                   )["case_id"]
        assert (await client.delete("/api/v1/channels/news_desk", headers=alice)
                ).status_code == 204
        err = await decide(client, mod, case_id, "ban_channel", "spam", status=409)
        assert err["error"]["code"] == "target_deleted"
        assert "deleted this channel" in err["error"]["message"]
        queue = (await client.get("/api/v1/mod/queue", headers=mod)).json()
        assert [(c["id"], c["state"]) for c in queue] == [(case_id, "open")]
        err = await decide(client, mod, case_id, "remove", "spam", status=400)
        assert err["error"]["code"] == "not_applicable"
        assert (await decide(client, mod, case_id, "no_violation", "other"))["state"] == "decided"


async def test_removal_banks_the_post_so_a_repost_is_refused(api: AppFactory) -> None:
    text = "a long enough text that a moderator removes, reposted word for word elsewhere"
    async with api() as client:
        alice = await user(client, "alice")
        mod = await staff(client, "mod_anna", "moderator")
        await channel(client, alice, "news_desk")
        await channel(client, alice, "other_desk")
        p = await post(client, alice, "news_desk", text)
        case_id = (await report(client, alice, report_body(
            "post", channel="news_desk", number=p["number"])))["case_id"]
        await decide(client, mod, case_id, "remove")
        r = await client.post("/api/v1/channels/other_desk/posts", json={"text": text},
                              headers=alice)
        assert r.status_code == 422
        assert r.json()["error"]["code"] == "content_rejected"

"""Reports (DSA Art. 16): public targets, verifiable private reports, trusted flaggers."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest

from tests.apps import kernel_of
from tests.conftest import AppFactory
from tests.server.channel_util import channel, photo, post, user
from tests.server.report_util import franked, franked_file, keyring, report, report_body, staff
from tests.server.test_review_console import _console_login
from tidings.protocol import limits
from tidings.protocol.keys import b64encode

NOW = 1_767_225_600_000


async def test_report_a_post_is_acknowledged_and_has_a_status(api: AppFactory) -> None:
    async with api() as client:
        alice, bob = await user(client, "alice"), await user(client, "bob")
        await channel(client, alice, "news_desk")
        p = await post(client, alice, "news_desk", "something bad")
        body = report_body("post", channel="news_desk", number=p["number"])
        body["notifier_name"], body["notifier_email"] = "Bob B", "bob@example.org"
        ack = await report(client, bob, body)
        assert ack["status"] == "received"
        assert ack["verified"] is False and ack["source"] == "user_report"
        status = (await client.get(f"/api/v1/reports/{ack['id']}", headers=bob)).json()
        assert status["status"] == "received" and status["case_id"] == ack["case_id"]
        # only the reporter sees the status
        r = await client.get(f"/api/v1/reports/{ack['id']}", headers=alice)
        assert r.status_code == 404
        # a second report about the same post joins the same case
        again = await report(client, alice, body)
        assert again["case_id"] == ack["case_id"]


@pytest.mark.parametrize(("change", "code"), [
    ({"good_faith": False}, "good_faith_required"),
    ({"category": "nonsense"}, "bad_category"),
    ({"explanation": "  "}, "bad_explanation"),
])
async def test_a_report_needs_the_art16_fields(api: AppFactory, change: dict[str, Any],
                                               code: str) -> None:
    async with api() as client:
        alice = await user(client, "alice")
        await channel(client, alice, "news_desk")
        body = {**report_body("channel", channel="news_desk"), **change}
        r = await client.post("/api/v1/reports", headers=alice, json=body)
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == code


async def test_a_report_names_its_target_one_published_way(api: AppFactory) -> None:
    async with api() as client:
        alice = await user(client, "alice")
        await channel(client, alice, "news_desk")
        for target in ({"kind": "planet"}, {"kind": "channel"},
                       {"kind": "channel", "channel": "news_desk", "account": "alice"},
                       {"kind": "post", "channel": "news_desk"},
                       {"kind": "post", "url": "c/news_desk/1?x"}):
            body = {**report_body("channel", channel="news_desk"), "target": target}
            r = await client.post("/api/v1/reports", headers=alice, json=body)
            assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_request"), target
        r = await client.post("/api/v1/reports", headers=alice, json=report_body("message"))
        assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_request")


async def test_report_a_channel_and_an_account(api: AppFactory) -> None:
    async with api() as client:
        alice, bob = await user(client, "alice"), await user(client, "bob")
        await channel(client, alice, "news_desk")
        assert (await report(client, bob, report_body("channel", channel="news_desk")))["case_id"]
        assert (await report(client, bob, report_body("account", account="alice")))["case_id"]
        r = await client.post("/api/v1/reports", headers=bob,
                              json=report_body("account", account="nobody"))
        assert r.status_code == 404


async def _private_report(client: httpx.AsyncClient, msg: dict[str, Any],
                          headers: dict[str, str], context: list[dict[str, Any]] | None = None,
                          status: int = 201) -> dict[str, Any]:
    body = report_body("message", category="harassment")
    body["message"], body["context"] = msg, context or []
    return await report(client, headers, body, status)


async def test_a_verified_private_report_with_context(api: AppFactory) -> None:
    async with api() as client:
        bob = await user(client, "bob")
        await user(client, "mallory")
        mod = await staff(client, "mod_anna", "moderator")
        ring = keyring(client)
        context = [franked(ring, f"earlier {i}", "mallory", "bob", NOW + i) for i in range(5)]
        msg = franked(ring, "the threat", "mallory", "bob", NOW + 10)
        ack = await _private_report(client, msg, bob, context)
        assert ack["verified"] is True and ack["source"] == "verified_private_report"
        case = (await client.get(f"/api/v1/mod/cases/{ack['case_id']}", headers=mod)).json()
        assert case["affected_user"] == "mallory"
        [rep] = case["reports"]
        assert rep["verified"] is True
        texts = [m["text"] for m in rep["messages"]]
        assert texts == ["the threat", *(f"earlier {i}" for i in range(5))]
        assert {m["verdict"] for m in rep["messages"]} == {"verified"}


async def test_forged_altered_and_replayed_reports_are_rejected(api: AppFactory) -> None:
    async with api() as client:
        bob, carol = await user(client, "bob"), await user(client, "carol")
        await user(client, "mallory")
        ring = keyring(client)
        msg = franked(ring, "hello", "mallory", "bob", NOW)
        other = franked(ring, "different", "mallory", "bob", NOW)
        altered = {**msg, "payload": other["payload"]}
        r = await _private_report(client, altered, bob, status=400)
        assert r["error"]["code"] == "franking_altered"
        forged = {**msg, "sender": "carol"}
        r = await _private_report(client, forged, bob, status=400)
        assert r["error"]["code"] == "franking_forged"
        # carol cannot report bob's message, neither as it is ...
        r = await _private_report(client, msg, carol, status=400)
        assert r["error"]["code"] == "not_a_participant"
        # ... nor moved into her own conversation
        r = await _private_report(client, {**msg, "conversation": "carol"}, carol, status=400)
        assert r["error"]["code"] == "franking_forged"
        unknown = {**msg, "key_id": "retired"}
        r = await _private_report(client, unknown, bob, status=400)
        assert r["error"]["code"] == "franking_unknown_key"
        # one bad context message rejects the whole report
        bad_ctx = {**franked(ring, "ctx", "mallory", "bob", NOW - 1), "ts": NOW - 2}
        r = await _private_report(client, msg, bob, [bad_ctx], status=400)
        assert r["error"]["code"] == "franking_forged"
        foreign = franked(ring, "ctx", "mallory", "carol", NOW - 1)
        r = await _private_report(client, msg, bob, [foreign], status=400)
        assert r["error"]["code"] == "context_mismatch"
        # in 1:1 chats the context comes from the same sender, not another chat with bob
        carols = franked(ring, "ctx", "carol", "bob", NOW - 1)
        r = await _private_report(client, msg, bob, [carols], status=400)
        assert r["error"]["code"] == "context_mismatch"
        later = franked(ring, "ctx", "mallory", "bob", NOW + 1)
        r = await _private_report(client, msg, bob, [later], status=400)
        assert r["error"]["code"] == "context_mismatch"
        six = [franked(ring, "c", "mallory", "bob", NOW - i - 1) for i in range(6)]
        r = await _private_report(client, msg, bob, six, status=422)


async def test_trusted_flaggers_are_set_by_admins_and_reviewed_first(api: AppFactory) -> None:
    async with api() as client:
        alice, bob = await user(client, "alice"), await user(client, "bob")
        ngo = await user(client, "ngo")
        admin = await staff(client, "root_admin", "admin")
        mod = await staff(client, "mod_anna", "moderator")
        await channel(client, alice, "news_desk")
        p1 = await post(client, alice, "news_desk", "first")
        p2 = await post(client, alice, "news_desk", "second")
        r = await client.put("/api/v1/admin/users/ngo/trusted-flagger", headers=mod,
                             json={"trusted": True})
        assert r.status_code == 403
        r = await client.put("/api/v1/admin/users/ngo/trusted-flagger", headers=admin,
                             json={"trusted": True})
        assert r.status_code == 200 and r.json()["trusted_flagger"] is True
        plain = await report(client, bob,
                             report_body("post", channel="news_desk", number=p1["number"]))
        flagged = await report(client, ngo,
                               report_body("post", channel="news_desk",
                                           number=p2["number"]))
        assert flagged["source"] == "trusted_flagger"
        queue = (await client.get("/api/v1/mod/queue", headers=mod)).json()
        assert [c["id"] for c in queue] == [flagged["case_id"], plain["case_id"]]


async def test_reports_are_rate_limited(api: AppFactory) -> None:
    async with api(rate_limits=True) as client:
        alice = await user(client, "alice")
        await channel(client, alice, "news_desk")
        body = report_body("channel", channel="news_desk")
        codes = [(await client.post("/api/v1/reports", headers=alice, json=body)).status_code
                 for _ in range(31)]
        assert codes[:30] == [201] * 30 and codes[30] == 429


async def test_group_messages_are_reportable_by_members(api: AppFactory) -> None:
    async with api() as client:
        bob, carol = await user(client, "bob"), await user(client, "carol")
        mallory = await user(client, "mallory")
        r = await client.post("/api/v1/groups", headers=mallory,
                              json={"title": "Plans", "members": ["bob", "carol"]})
        assert r.status_code == 200, r.text
        gid = r.json()["id"]
        r = await client.post(f"/api/v1/invitations/{gid}/accept", headers=bob)
        assert r.status_code == 200, r.text  # carol never accepts: not a member
        ring = keyring(client)
        elsewhere = franked(ring, "group threat", "mallory", "group:g1", NOW)
        r = await _private_report(client, elsewhere, bob, status=400)  # no such group
        assert r["error"]["code"] == "not_a_participant"
        msg = franked(ring, "group threat", "mallory", f"group:{gid}", NOW)
        ack = await _private_report(client, msg, bob)
        assert ack["verified"] is True
        r = await _private_report(client, msg, carol, status=400)
        assert r["error"]["code"] == "not_a_participant"


async def test_a_disclosed_attachment_must_be_the_file_the_message_names(
        api: AppFactory) -> None:
    """Issue 21: the reporter's client may send a file message's decrypted attachment;
    the server keeps it only if its SHA-256 is the one the franked payload names."""
    async with api() as client:
        bob = await user(client, "bob")
        await user(client, "mallory")
        ring = keyring(client)
        picture = photo(40, 30, seed=3)
        message = franked_file(ring, picture, "me.png", "image/png", "mallory", "bob", NOW)

        def body(msg: dict[str, Any], disclosed: bytes | None) -> dict[str, Any]:
            out = report_body("message", category="harassment")
            out["message"] = msg if disclosed is None else {
                **msg, "disclosed": b64encode(disclosed)}
            return out

        r = await client.post("/api/v1/reports", headers=bob,
                              json=body(message, picture + b"x"))
        assert r.status_code == 400 and r.json()["error"]["code"] == "disclosure_mismatch"
        text = franked(ring, "plain words", "mallory", "bob", NOW)
        r = await client.post("/api/v1/reports", headers=bob, json=body(text, b"anything"))
        assert r.status_code == 400 and r.json()["error"]["code"] == "nothing_to_disclose"
        big = franked_file(ring, b"x" * (limits.REPORT_DISCLOSED_MAX + 1), "big.bin",
                           "application/octet-stream", "mallory", "bob", NOW)
        r = await client.post("/api/v1/reports", headers=bob,
                              json=body(big, b"x" * (limits.REPORT_DISCLOSED_MAX + 1)))
        assert r.status_code == 400 and r.json()["error"]["code"] == "disclosure_too_large"
        ack = await report(client, bob, body(message, picture))
        assert ack["verified"] is True and ack["disclosed"] == 1

        # staff see it on the case page, blurred, and fetch it from the console only
        sha = hashlib.sha256(picture).hexdigest()
        url = f"/console/cases/{ack['case_id']}/disclosed/{sha}"
        assert (await client.get(url)).status_code == 303  # no console session
        await staff(client, "mod_anna", "moderator")
        await _console_login(client, "mod_anna")
        page = (await client.get(f"/console/cases/{ack['case_id']}")).text
        assert f'<img src="{url}"' in page and 'class="media-guard disclosed' in page
        got = await client.get(url)
        assert got.status_code == 200 and got.content == picture
        assert got.headers["content-type"] == "image/png"
        assert got.headers["x-content-type-options"] == "nosniff"
        assert "no-store" in got.headers["cache-control"]
        other = (await report(client, bob, report_body(
            "message", category="spam") | {"message": franked(
                ring, "other words", "mallory", "bob", NOW + 1)}))["case_id"]
        assert (await client.get(f"/console/cases/{other}/disclosed/{sha}")).status_code == 404


async def test_disclosed_attachments_go_after_the_appeal_window(api: AppFactory) -> None:
    """A disclosed file is kept while its case is undecided, and deleted six months
    after it was last disclosed once every case naming it is decided."""
    import time

    from tidings.services.clock import ManualClock

    clock = ManualClock(int(time.time() * 1000))  # file times are the real clock's
    async with api(clock=clock) as client:
        bob = await user(client, "bob")
        await user(client, "mallory")
        mod = await staff(client, "mod_anna", "moderator")
        ring = keyring(client)
        first, second = photo(40, 30, seed=4), photo(40, 30, seed=5)
        acks = []
        for n, picture in enumerate((first, second)):
            message = franked_file(ring, picture, f"p{n}.png", "image/png", "mallory",
                                   "bob", clock() + n)
            body = report_body("message", category="harassment")
            body["message"] = {**message, "disclosed": b64encode(picture)}
            acks.append(await report(client, bob, body))
        reports = kernel_of(client).reports
        assert await reports.sweep_disclosed() == 0  # nothing is old yet
        r = await client.post(f"/api/v1/mod/cases/{acks[0]['case_id']}/decision",
                              headers=mod, json={"action": "no_violation",
                                                 "policy": "harassment"})
        assert r.status_code == 200, r.text
        clock.advance(limits.REPORT_DISCLOSED_KEEP_MS + 600_000)  # the files were written
        # a moment after the manual clock's start, in real time
        deleted = await reports.sweep_disclosed()
        first_sha = hashlib.sha256(first).hexdigest()
        second_sha = hashlib.sha256(second).hexdigest()
        assert acks[0]["case_id"] != acks[1]["case_id"]  # two messages, two cases
        assert deleted == 1
        assert reports.disclosed.exists(second_sha)  # its case is still open
        assert not reports.disclosed.exists(first_sha)

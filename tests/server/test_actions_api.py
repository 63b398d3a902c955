"""Rules and actions end to end (issue #7): auto-bank, strikes to bans, retro-scans,
holds, idempotency, rule-set validation, audit verification."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from tests.apps import kernel_of
from tests.conftest import AppFactory
from tests.moderation.images import generate
from tests.server.channel_util import channel, internal_id, post, upload, user
from tests.server.test_banks_api import staff
from tests.services.test_banks import jpeg
from tidings.bus.base import Bus
from tidings.moderation.engine import Actor
from tidings.moderation.rules import load_ruleset
from tidings.moderation.signal_types import TextExactSignal
from tidings.protocol.control import Frame, decode_channel
from tidings.services.actions import LOCAL_TAKEDOWN_BANK, ActionService
from tidings.services.channels import channel_topic
from tidings.services.rule_config import RuleConfig
from tidings.storage.accounts import AccountStore
from tidings.storage.actions import RulesetRecord

TERROR_LABEL = "?label=category:terrorist_content"
JOB_WAIT_S = 20.0
POLL_S = 0.05


def actions(client: httpx.AsyncClient) -> ActionService:
    svc: ActionService = kernel_of(client).actions
    return svc


async def bank_text(client: httpx.AsyncClient, admin: dict[str, str], bank: str,
                    text: str) -> None:
    r = await client.post("/api/v1/banks", json={"name": bank}, headers=admin)
    assert r.status_code in (201, 409), r.text
    r = await client.post(f"/api/v1/banks/{bank}/entries", headers=admin, json={
        "text": text, "labels": ["category:terrorist_content"]})
    assert r.status_code == 201, r.text


async def strikes(client: httpx.AsyncClient, username: str) -> int:
    svc = actions(client)
    async with svc.db.read() as conn:
        found = await AccountStore().user_by_name(conn, username)
    assert found is not None
    return (await svc.history(Actor(found.id))).active_strikes


async def test_removed_image_resized_and_reposted_is_rejected(api: AppFactory) -> None:
    async with api() as client:
        mod = await staff(client, "mod", "moderator")
        alice = await user(client, "alice")
        await channel(client, alice, "first_chan")
        await channel(client, alice, "second_chan")
        image = generate(11)
        media = (await upload(client, alice, jpeg(image)))["sha256"]
        original = await post(client, alice, "first_chan", "look at this", [media])
        pid = await internal_id(client, mod, "first_chan", original["number"])
        r = await client.post(f"/api/v1/admin/posts/{pid}/remove", headers=mod,
                              json={"labels": ["terrorist_content"]})
        assert r.status_code == 200, r.text
        assert r.json()["removed"] and r.json()["banked"] > 0
        again = await client.post(f"/api/v1/admin/posts/{pid}/remove",
                                  headers=mod)
        assert again.json()["removed"] is False  # idempotent
        gone = await client.get(f"/api/v1/channels/first_chan/posts/{original['number']}")
        assert gone.json()["state"] == "removed" and "media" not in gone.json()
        # the copy is refused when it is uploaded (the media surface), before any post
        repost = await client.post("/api/v1/media", headers=alice,
                                   content=jpeg(image, scale=0.5))
        assert repost.status_code == 422, repost.text
        details = repost.json()["error"]["details"]
        assert details["surface"] == "media"
        assert any(r["bank"] == LOCAL_TAKEDOWN_BANK for r in details["reasons"])
        assert "terror-hash-reject" in details["rules"]
        statement = details["statement_of_reasons"]
        assert "2021/784" in statement["ground"] and "appeal" in statement["text"]


async def test_three_strikes_ban_the_channel_everywhere(api: AppFactory) -> None:
    async with api() as client:
        admin = await staff(client, "boss", "admin")
        alice, bob = await user(client, "alice"), await user(client, "bob")
        created = await channel(client, alice, "doomed_news")
        events: list[dict[str, Any]] = []
        bus: Bus = kernel_of(client).bus

        def on_message(message: bytes) -> None:
            decoded = decode_channel(message)
            events.append(json.loads(decoded.text) if isinstance(decoded, Frame)
                          else {"kind": "closed", "channel_id": decoded.channel_id})

        bus.subscribe(channel_topic(created["id"]), on_message)
        await post(client, alice, "doomed_news", "an innocent zebrafish story")
        await client.post("/api/v1/channels/doomed_news/subscribe", headers=bob)
        found = await client.get("/api/v1/search/posts?q=zebrafish")
        assert found.status_code == 200 and found.json(), found.text
        texts = [f"banned propaganda number {i} join us now" for i in range(3)]
        for text in texts:
            await bank_text(client, admin, "TERROR_TEXT", text)
        rejected = await client.post("/api/v1/channels/doomed_news/posts", headers=alice,
                                     json={"text": texts[0]})
        assert rejected.status_code == 422
        # The same content again: same idempotency keys, still one strike.
        await client.post("/api/v1/channels/doomed_news/posts", headers=alice,
                          json={"text": texts[0]})
        assert await strikes(client, "alice") == 1
        for text in texts[1:]:
            r = await client.post("/api/v1/channels/doomed_news/posts", headers=alice,
                                  json={"text": text})
            assert r.status_code == 422
        assert await strikes(client, "alice") == 3
        api_view = await client.get("/api/v1/channels/doomed_news", headers=bob)
        assert api_view.status_code == 410
        assert [e["kind"] for e in events if e["kind"] == "banned"] == ["banned"]
        assert "terrorist content" in events[-2]["notice"]
        # then access is revoked: every process's live feed of the channel closes
        assert events[-1] == {"kind": "closed", "channel_id": created["id"]}
        assert api_view.json()["error"]["code"] == "channel_banned"
        assert "terrorist content" in api_view.json()["error"]["message"]
        posts = await client.get("/api/v1/channels/doomed_news/posts", headers=bob)
        assert posts.status_code == 410
        web = await client.get("/c/doomed_news")
        assert "unavailable" in web.text and "terrorist content" in web.text
        assert (await client.get("/api/v1/search/posts?q=zebrafish")).json() == []
        # The handle stays reserved.
        taken = await client.post("/api/v1/channels", headers=bob, json={
            "handle": "doomed_news", "title": "Not Doomed"})
        assert taken.status_code == 409
        # A new channel of the banned owner waits for review.
        held = await channel(client, alice, "fresh_start")
        assert held["state"] == "held"
        lookalike = await channel(client, bob, "doomed_news2")
        assert lookalike["state"] == "held"
        assert (await channel(client, bob, "good_news"))["state"] == "visible"
        verify = await client.get("/api/v1/admin/audit/verify", headers=admin)
        assert verify.json()["ok"] is True


async def wait_job(client: httpx.AsyncClient, admin: dict[str, str], job_id: int
                   ) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + JOB_WAIT_S
    while True:
        job = (await client.get(f"/api/v1/jobs/{job_id}", headers=admin)).json()
        if job.get("state") in ("done", "failed") or \
                asyncio.get_running_loop().time() > deadline:
            result: dict[str, Any] = job
            return result
        await asyncio.sleep(POLL_S)


async def test_retro_scan_after_import_removes_an_old_post(api: AppFactory) -> None:
    async with api() as client:
        admin = await staff(client, "boss", "admin")
        alice = await user(client, "alice")
        await channel(client, alice, "old_news")
        text = "an old post that was fine until the partner list said otherwise"
        old = await post(client, alice, "old_news", text)
        await post(client, alice, "old_news", "an unrelated harmless post")
        await client.post("/api/v1/banks", json={"name": "PARTNER_LIST"}, headers=admin)
        line = f"text_exact {TextExactSignal.hash_from_str(text)}\n"
        r = await client.post(f"/api/v1/banks/PARTNER_LIST/import{TERROR_LABEL}",
                              content=line.encode(), headers=admin)
        assert r.status_code == 200, r.text
        job = await wait_job(client, admin, 1)
        assert job["kind"] == "retro_scan" and job["state"] == "done", job
        assert job["result"]["removed"] == 1
        assert job["progress"]["done"] == job["progress"]["total"]
        gone = await client.get(f"/api/v1/channels/old_news/posts/{old['number']}")
        assert gone.json()["state"] == "removed"
        history = (await client.get("/api/v1/channels/old_news/posts")).json()
        assert [p["text"] for p in history["posts"]] == ["an unrelated harmless post"]
        assert await strikes(client, "alice") == 1


HOLD_RULES = """
version = 7
[[rule]]
name = "review-hold"
when.match.bank = ["REVIEW_*"]
then = ["hold"]
"""


async def test_rules_api_and_held_post_until_released(api: AppFactory) -> None:
    async with api() as client:
        admin = await staff(client, "boss", "admin")
        mod = await staff(client, "mod", "moderator")
        bad = await client.put("/api/v1/admin/rules", headers=admin,
                               content=HOLD_RULES.replace("then", "thne"))
        assert bad.status_code == 400
        assert bad.json()["error"]["details"] == {"rule": "review-hold", "key": "thne"}
        assert (await client.put("/api/v1/admin/rules", headers=mod,
                                 content=HOLD_RULES)).status_code == 403
        ok = await client.put("/api/v1/admin/rules", headers=admin, content=HOLD_RULES)
        assert ok.status_code == 200 and ok.json()["version"] == 7
        got = (await client.get("/api/v1/admin/rules", headers=mod)).json()
        assert got["source"] == "api" and got["content_hash"] == ok.json()["content_hash"]
        alice, bob = await user(client, "alice"), await user(client, "bob")
        await channel(client, alice, "review_chan")
        await client.post("/api/v1/channels/review_chan/subscribe", headers=bob)
        text = "a borderline post that a moderator should look at first"
        await bank_text(client, admin, "REVIEW_QUEUE", text)
        held = await post(client, alice, "review_chan", text)
        assert held["state"] == "held"
        seen = (await client.get("/api/v1/channels/review_chan/posts", headers=bob)).json()
        assert seen["posts"] == []
        held_id = await internal_id(client, mod, "review_chan", held["number"])
        r = await client.post(f"/api/v1/admin/held/{held_id}/release", headers=mod)
        assert r.status_code == 200, r.text
        seen = (await client.get("/api/v1/channels/review_chan/posts", headers=bob)).json()
        assert [p["number"] for p in seen["posts"]] == [held["number"]]


SUSPEND_RULES = """
version = 2
[thresholds]
ban_channel = 10
suspend_account = 2
[[rule]]
name = "strike-hard"
when.match.bank = ["*"]
then = ["reject", "strike:1:30d"]
"""


async def test_strike_threshold_suspends_and_everything_is_audited(api: AppFactory) -> None:
    async with api() as client:
        admin = await staff(client, "boss", "admin")
        ok = await client.put("/api/v1/admin/rules", headers=admin, content=SUSPEND_RULES)
        assert ok.status_code == 200, ok.text
        alice = await user(client, "alice")
        await channel(client, alice, "strike_chan")
        texts = ["first forbidden sentence here", "second forbidden sentence here"]
        for text in texts:
            await bank_text(client, admin, "SPAM_LIST", text)
        for text in texts:
            r = await client.post("/api/v1/channels/strike_chan/posts", headers=alice,
                                  json={"text": text})
            assert r.status_code == 422
        denied = await client.get("/api/v1/channels/strike_chan", headers=alice)
        assert denied.status_code == 403
        assert denied.json()["error"]["code"] == "account_suspended"
        svc = actions(client)
        async with svc.db.read() as conn:
            chain = await svc.store.audit_chain(conn)
        done = [(c.record.action, c.record.rule) for c in chain]
        assert ("set_rules", "policy:rules") in done
        assert ("suspend_account", "threshold:suspend_account") in done
        assert [a for a, _ in done].count("strike") == 2


async def test_a_rule_set_stored_elsewhere_is_picked_up(api: AppFactory) -> None:
    async with api() as client:
        admin = await staff(client, "boss", "admin")
        cfg: RuleConfig = kernel_of(client).rule_config
        assert cfg.active.source == "default" and not await cfg.refresh()
        async with cfg.db.write() as conn:  # as another process's PUT would
            ruleset = load_ruleset(HOLD_RULES)
            await cfg.store.save_ruleset(conn, RulesetRecord(
                ruleset.version, ruleset.content_hash, HOLD_RULES, "admin:other", 0))
        assert await cfg.refresh()
        got = (await client.get("/api/v1/admin/rules", headers=admin)).json()
        assert got["version"] == 7 and got["rules"] == ["review-hold"]


async def test_retro_scan_holds_a_channel_whose_description_matches(api: AppFactory) -> None:
    async with api() as client:
        admin = await staff(client, "boss", "admin")
        alice, bob = await user(client, "alice"), await user(client, "bob")
        description = "the description that a partner list later identifies as propaganda"
        await channel(client, alice, "described", description=description)
        await client.post("/api/v1/banks", json={"name": "PARTNER_META"}, headers=admin)
        line = f"text_exact {TextExactSignal.hash_from_str(description)}\n"
        r = await client.post(f"/api/v1/banks/PARTNER_META/import{TERROR_LABEL}",
                              content=line.encode(), headers=admin)
        assert r.status_code == 200, r.text
        job = await wait_job(client, admin, 1)
        assert job["state"] == "done" and job["result"]["channels_held"] == 1, job
        assert (await client.get("/api/v1/channels/described", headers=bob)).status_code == 404
        own = await client.get("/api/v1/channels/described", headers=alice)
        assert own.json()["state"] == "held"

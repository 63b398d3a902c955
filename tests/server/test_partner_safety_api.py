"""Partner-signal safety (issue 19 item 4) through the HTTP API with real photos and
text: negative (allow) banks, partner banks that hold instead of striking, the
match-rate quarantine and "no violation" feedback against the entry that matched."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import AppFactory
from tests.moderation.images import encode, generate
from tests.server.channel_util import channel, upload, user
from tests.server.test_actions_api import strikes, wait_job
from tests.server.test_banks_api import staff
from tests.server.test_operator_metrics import sample, scrape
from tests.server.test_review_console import _console_login
from tests.services.test_banks import jpeg

TERROR = ["category:terrorist_content"]
LABEL_Q = "?label=category:terrorist_content"


async def make_bank(client: httpx.AsyncClient, admin: dict[str, str], name: str,
                    **kind: bool) -> dict[str, Any]:
    r = await client.post("/api/v1/banks", json={"name": name, **kind}, headers=admin)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def bank_photo(client: httpx.AsyncClient, admin: dict[str, str], bank: str,
                     data: bytes) -> list[dict[str, Any]]:
    r = await client.post(f"/api/v1/banks/{bank}/entries{LABEL_Q}", content=data,
                          headers=admin)
    assert r.status_code == 201, r.text
    entries: list[dict[str, Any]] = r.json()["entries"]
    assert any(e["signal_type"] == "pdq" for e in entries), "a picture with texture"
    return entries


async def bank_url(client: httpx.AsyncClient, admin: dict[str, str], bank: str,
                   url: str) -> int:
    r = await client.post(f"/api/v1/banks/{bank}/entries", headers=admin,
                          json={"url": url, "labels": TERROR})
    assert r.status_code == 201, r.text
    entry_id: int = r.json()["entries"][0]["id"]
    return entry_id


async def publish(client: httpx.AsyncClient, who: dict[str, str], handle: str,
                  text: str, media: list[str] | None = None) -> httpx.Response:
    return await client.post(f"/api/v1/channels/{handle}/posts", headers=who,
                             json={"text": text, "media": media or []})


async def entry(client: httpx.AsyncClient, admin: dict[str, str], bank: str,
                entry_id: int) -> dict[str, Any]:
    r = await client.get(f"/api/v1/banks/{bank}/entries?limit=500", headers=admin)
    found: dict[str, Any] = next(e for e in r.json()["entries"] if e["id"] == entry_id)
    return found


async def entry_case(client: httpx.AsyncClient, mod: dict[str, str],
                     entry_id: int) -> dict[str, Any]:
    queue = (await client.get("/api/v1/mod/queue?kind=bank_entry", headers=mod)).json()
    [summary] = [c for c in queue if c["target"]["ref"] == str(entry_id)]
    r = await client.get(f"/api/v1/mod/cases/{summary['id']}", headers=mod)
    assert r.status_code == 200, r.text
    case: dict[str, Any] = r.json()
    return case


async def decide(client: httpx.AsyncClient, mod: dict[str, str], case_id: str,
                 action: str, status: int = 200) -> dict[str, Any]:
    r = await client.post(f"/api/v1/mod/cases/{case_id}/decision", headers=mod,
                          json={"action": action, "policy": "terrorist_content"})
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_negative_bank_suppresses_a_match_of_the_same_photo(api: AppFactory) -> None:
    async with api() as client:
        admin = await staff(client, "boss", "admin")
        alice = await user(client, "alice")
        await channel(client, alice, "alices_news")
        await make_bank(client, admin, "OWN_TERROR")
        banked, other = generate(61), generate(62)
        await bank_photo(client, admin, "OWN_TERROR", encode(banked))
        await bank_photo(client, admin, "OWN_TERROR", encode(other))
        copy = jpeg(banked, 0.8, quality=75)
        refused = await client.post("/api/v1/media", headers=alice, content=copy)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "content_rejected"

        bad = await client.post("/api/v1/banks", headers=admin,
                                json={"name": "ALLOWED", "negative": True, "trusted": True})
        # published (the schema's ``not``) and checked by the request model: 422
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"
        allow = await make_bank(client, admin, "ALLOWED", negative=True)
        assert allow["negative"] is True
        # A near copy (not the banked bytes) in the allow list clears the photo, its
        # exact hashes included: the query is within the negative entry's threshold.
        await bank_photo(client, admin, "ALLOWED", jpeg(banked, 0.9, quality=85))
        media = await upload(client, alice, copy)
        posted = await publish(client, alice, "alices_news", "context", [media["sha256"]])
        assert posted.status_code == 201 and posted.json()["state"] == "visible", posted.text
        assert await strikes(client, "alice") == 1  # the refused upload's, no new one
        metrics = await scrape(client)
        assert sample(metrics, "tidings_moderation_suppressed_total", bank="OWN_TERROR",
                      negative_bank="ALLOWED") >= 1
        verified = await client.get("/api/v1/admin/audit/verify", headers=admin)
        assert verified.status_code == 200 and verified.json()["ok"] is True

        # The allow list speaks for its own content only: the other banked photo is
        # refused, and so is the allowed photo next to banked text in one post.
        again = await client.post("/api/v1/media", headers=alice, content=jpeg(other))
        assert again.status_code == 422
        r = await client.post("/api/v1/banks/OWN_TERROR/entries", headers=admin,
                              json={"text": "join the armed struggle now brothers",
                                    "labels": TERROR})
        assert r.status_code == 201
        mixed = await publish(client, alice, "alices_news",
                              "join the armed struggle now brothers", [media["sha256"]])
        assert mixed.status_code == 422


async def test_partner_bank_holds_without_strike_and_trusted_rejects(api: AppFactory
                                                                     ) -> None:
    async with api() as client:
        admin = await staff(client, "boss", "admin")
        await staff(client, "mod", "moderator")
        alice = await user(client, "alice")
        await channel(client, alice, "alices_news")
        # A bank an exchange feeds becomes a partner bank by itself.
        await make_bank(client, admin, "TCAP_FEED")
        r = await client.put("/api/v1/banks/TCAP_FEED/exchanges/tcap", headers=admin,
                             json={"exchange_type": "static_sample", "labels": TERROR})
        assert r.status_code == 200, r.text
        [feed] = [b for b in (await client.get("/api/v1/banks", headers=admin)
                              ).json()["banks"] if b["name"] == "TCAP_FEED"]
        assert (feed["partner"], feed["trusted"], feed["trust"]) == (True, False, "partner")
        banked = generate(21)
        await bank_photo(client, admin, "TCAP_FEED", encode(banked))

        media = await upload(client, alice, jpeg(banked, 0.8, quality=75))
        posted = await publish(client, alice, "alices_news", "look", [media["sha256"]])
        assert posted.status_code == 201 and posted.json()["state"] == "held", posted.text
        assert await strikes(client, "alice") == 0

        r = await client.patch("/api/v1/banks/TCAP_FEED", headers=admin,
                               json={"trusted": True})
        assert r.status_code == 200 and r.json()["trust"] == "trusted"
        refused = await client.post("/api/v1/media", headers=alice,
                                    content=jpeg(banked, 0.7, quality=80))
        assert refused.status_code == 422
        assert await strikes(client, "alice") == 1


async def test_match_rate_quarantine_overlay_and_review(api: AppFactory) -> None:
    async with api(quarantine_items=2, quarantine_uploaders=2, false_match_limit=0
                   ) as client:
        admin = await staff(client, "boss", "admin")
        mod = await staff(client, "mod", "moderator")
        alice, bob = await user(client, "alice"), await user(client, "bob")
        await channel(client, alice, "alices_news")
        await channel(client, bob, "bobs_news")
        await make_bank(client, admin, "PARTNER_URLS", partner=True)
        entry_id = await bank_url(client, admin, "PARTNER_URLS", "domain:cdn.example.org")
        states = []
        for who, handle, n in ((alice, "alices_news", 1), (alice, "alices_news", 1),
                               (bob, "bobs_news", 2), (alice, "alices_news", 3)):
            r = await publish(client, who, handle, f"see https://cdn.example.org/{n}.jpg")
            states.append(r.json()["state"])
        # Three distinct items from two uploaders: more than 2, so quarantined at once.
        assert states == ["held"] * 4
        quarantined = await entry(client, admin, "PARTNER_URLS", entry_id)
        assert quarantined["quarantine_reason"] == "match_rate"
        assert quarantined["enabled"] is True and quarantined["matching"] is False
        r = await publish(client, bob, "bobs_news", "see https://cdn.example.org/4.jpg")
        assert r.json()["state"] == "visible"  # the overlay: skipped without a rebuild

        case = await entry_case(client, mod, entry_id)
        assert case["content"]["kind"] == "bank_entry"
        assert case["content"]["quarantine_reason"] == "match_rate"
        assert case["content"]["window"]["items"] == 3
        assert case["content"]["window"]["uploaders"] == 2
        err = await decide(client, mod, case["id"], "ban_channel", status=400)
        assert err["error"]["code"] == "not_applicable"
        await decide(client, mod, case["id"], "no_violation")  # the entry is sound
        restored = await entry(client, admin, "PARTNER_URLS", entry_id)
        assert restored["matching"] is True and restored["quarantined_at"] is None
        r = await publish(client, bob, "bobs_news", "see https://cdn.example.org/5.jpg")
        assert r.json()["state"] == "held"

    # A restart keeps a quarantine: the overlay is re-read from the bank store.
    async with api(quarantine_items=1, quarantine_uploaders=1, false_match_limit=0
                   ) as client:
        admin = await staff(client, "boss2", "admin")
        mod = await staff(client, "mod2", "moderator")
        carol = await user(client, "carol")
        await channel(client, carol, "carols_news")
        for n in (6, 7):
            await publish(client, carol, "carols_news", f"see https://cdn.example.org/{n}.jpg")
        assert (await entry(client, admin, "PARTNER_URLS", entry_id))["matching"] is False
    async with api() as client:
        admin = await staff(client, "boss3", "admin")
        mod = await staff(client, "mod3", "moderator")
        dave = await user(client, "dave")
        await channel(client, dave, "daves_news")
        r = await publish(client, dave, "daves_news", "see https://cdn.example.org/8.jpg")
        assert r.json()["state"] == "visible"
        case = await entry_case(client, mod, entry_id)
        await decide(client, mod, case["id"], "remove")  # disable it for good
        gone = await entry(client, admin, "PARTNER_URLS", entry_id)
        assert gone["enabled"] is False and gone["quarantined_at"] is None
        # Disabling an entry restricts nobody: no measure in the transparency report.
        from datetime import UTC, datetime
        today = datetime.now(UTC).strftime("%Y-%m-%d")
        report = (await client.get(f"/api/v1/transparency/report?from={today}",
                                   headers=admin)).json()
        assert report["human_decisions"] == 0 and "remove" not in report["actions_by_action"]


async def test_no_violation_decisions_count_against_the_entry(api: AppFactory) -> None:
    async with api(false_match_limit=2, quarantine_items=0) as client:
        admin = await staff(client, "boss", "admin")
        mod = await staff(client, "mod", "moderator")
        alice = await user(client, "alice")
        await channel(client, alice, "alices_news")
        await make_bank(client, admin, "PARTNER_URLS", partner=True)
        entry_id = await bank_url(client, admin, "PARTNER_URLS", "domain:news.example.net")
        decided = []
        for n in (1, 2):
            r = await publish(client, alice, "alices_news",
                              f"report: https://news.example.net/{n}")
            assert r.json()["state"] == "held"
            [case] = (await client.get("/api/v1/mod/queue?kind=post", headers=mod)).json()
            detail = (await client.get(f"/api/v1/mod/cases/{case['id']}", headers=mod)).json()
            assert [m["entry_id"] for m in detail["matches"]] == [entry_id]
            await decide(client, mod, case["id"], "no_violation")
            decided.append(case["id"])
            state = (await entry(client, admin, "PARTNER_URLS", entry_id))
            assert state["matching"] is (n < 2)
        assert (await entry(client, admin, "PARTNER_URLS", entry_id)
                )["quarantine_reason"] == "false_matches"
        case = await entry_case(client, mod, entry_id)
        assert case["content"]["no_violation_cases"] == decided
        await _console_login(client, "mod")  # what a moderator sees in the console
        page = (await client.get(f"/console/cases/{case['id']}")).text
        assert "Quarantined" in page and "(false_matches)" in page
        assert all(f'href="/console/cases/{c}"' in page for c in decided)
        r = await publish(client, alice, "alices_news", "report: https://news.example.net/3")
        assert r.json()["state"] == "visible"
        # Staff can also restore through the bank API (CLI: tidings bank enable).
        r = await client.patch(f"/api/v1/banks/PARTNER_URLS/entries/{entry_id}",
                               headers=admin, json={"enabled": True})
        assert r.status_code == 200 and r.json()["matching"] is True


async def test_retro_scan_of_a_partner_entry_holds_with_a_case(api: AppFactory) -> None:
    """A partner entry added after the fact holds matching stored posts (no removal, no
    strike) and each held post waits in the review queue with its matches."""
    import asyncio
    import time

    async with api() as client:
        admin = await staff(client, "boss", "admin")
        mod = await staff(client, "mod", "moderator")
        alice = await user(client, "alice")
        await channel(client, alice, "alices_news")
        r = await publish(client, alice, "alices_news", "see https://cdn.example.org/x.jpg")
        assert r.json()["state"] == "visible"
        await make_bank(client, admin, "PARTNER_URLS", partner=True)
        entry_id = await bank_url(client, admin, "PARTNER_URLS", "domain:cdn.example.org")
        deadline = time.monotonic() + 20
        while not (queue := (await client.get("/api/v1/mod/queue?kind=post",
                                              headers=mod)).json()):
            assert time.monotonic() < deadline, "the retro-scan opened no case"
            await asyncio.sleep(0.05)
        [case] = queue
        detail = (await client.get(f"/api/v1/mod/cases/{case['id']}", headers=mod)).json()
        assert detail["content"]["state"] == "held"
        assert [m["entry_id"] for m in detail["matches"]] == [entry_id]
        assert await strikes(client, "alice") == 0


async def test_retro_scan_matches_count_towards_the_quarantine(api: AppFactory) -> None:
    """A bad partner entry fetched later matches many stored posts: the retro-scan's
    matches quarantine it, and the scan then leaves the remaining posts alone."""
    async with api(quarantine_items=1, quarantine_uploaders=1) as client:
        admin = await staff(client, "boss", "admin")
        alice = await user(client, "alice")
        await channel(client, alice, "alices_news")
        numbers = []
        for n in range(4):
            r = await publish(client, alice, "alices_news", f"https://cdn.example.org/{n}")
            numbers.append(r.json()["number"])
        await make_bank(client, admin, "PARTNER_URLS", partner=True)
        entry_id = await bank_url(client, admin, "PARTNER_URLS", "domain:cdn.example.org")
        job = await wait_job(client, admin, 1)
        assert job["kind"] == "retro_scan" and job["state"] == "done", job
        assert (await entry(client, admin, "PARTNER_URLS", entry_id))["matching"] is False
        states = [(await client.get(f"/api/v1/channels/alices_news/posts/{n}",
                                    headers=alice)).json()["state"] for n in numbers]
        assert states == ["held", "held", "visible", "visible"]

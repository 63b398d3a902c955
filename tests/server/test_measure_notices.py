"""Issue 17, items 4 and 5: every measure against a person's content or account puts its
statement of reasons, with the right ground, in that person's inbox; the transparency
figures of a seeded history add up (each measure, repost and threshold counted once) and
the strike threshold fires at the configured number, not before."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import AppFactory
from tests.server.channel_util import internal_id
from tests.server.order_util import authority, member, order_body, submit
from tests.server.report_util import notices, report, report_body
from tests.server.test_actions_api import TERROR_LABEL, bank_text, strikes, wait_job
from tests.server.test_review_api import decide
from tidings.moderation.signal_types import TextExactSignal
from tidings.services.clock import ManualClock

BANK_MATCH_WORDING = "close variant"
"""How the automated ground once read for every measure, orders included."""


async def make_channel(client: httpx.AsyncClient, who: dict[str, str], handle: str) -> None:
    r = await client.post("/api/v1/channels", headers=who,
                          json={"handle": handle, "title": handle.replace("_", " ").title()})
    assert r.status_code == 201, r.text


async def publish(client: httpx.AsyncClient, who: dict[str, str], handle: str, text: str,
                  status: int = 201) -> dict[str, Any]:
    r = await client.post(f"/api/v1/channels/{handle}/posts", headers=who, json={"text": text})
    assert r.status_code == status, r.text
    result: dict[str, Any] = r.json()
    return result


def statements(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [n for n in items if n["kind"] == "statement_of_reasons"]


async def newest(client: httpx.AsyncClient, who: dict[str, str], count: int
                 ) -> list[dict[str, Any]]:
    """Exactly ``count`` statements of reasons in the inbox; newest first."""
    found = statements(await notices(client, who))
    assert len(found) == count, [n["statement"]["restrictions"] for n in found]
    return found


async def test_each_measure_puts_its_statement_in_the_inbox(api: AppFactory) -> None:
    async with api() as client:
        admin = await member(client, "boss", "admin")
        mod = await member(client, "mod_anna", "moderator")
        alice, bob = await member(client, "alice"), await member(client, "bob")
        await make_channel(client, alice, "alice_news")
        await bank_text(client, admin, "TERROR_TEXT", "join the armed struggle today")

        # 1. automated rejection by the banks, at publishing
        await publish(client, alice, "alice_news", "join the armed struggle today", 422)
        [rejected] = await newest(client, alice, 1)
        assert rejected["statement"]["restrictions"] == ["content_removed"]
        assert "2021/784" in rejected["statement"]["ground"]
        assert "taken by automated means" in rejected["statement"]["text"]
        assert "TERROR_TEXT" in rejected["statement"]["text"]
        assert rejected["strikes"]["active"] == 1
        assert rejected["strikes"]["thresholds"] == {"ban_channel": 3, "suspend_account": 5}

        # 2. the retro-scan removes an old post once the bank learns it
        old_text = "an old post a partner list names later"
        old = await publish(client, alice, "alice_news", old_text)
        await client.post("/api/v1/banks", json={"name": "PARTNER_LIST"}, headers=admin)
        line = f"text_exact {TextExactSignal.hash_from_str(old_text)}\n"
        r = await client.post(f"/api/v1/banks/PARTNER_LIST/import{TERROR_LABEL}",
                              content=line.encode(), headers=admin)
        assert r.status_code == 200, r.text
        # jobs 1 and 2 scanned for TERROR_TEXT's entry and the auto-banked rejection
        job = await wait_job(client, admin, 3)
        assert job["state"] == "done" and job["result"]["removed"] == 1, job
        scanned = (await newest(client, alice, 2))[0]
        assert scanned["statement"]["restrictions"] == ["content_removed"]
        assert "PARTNER_LIST" in scanned["statement"]["text"]
        gone = await client.get(f"/api/v1/channels/alice_news/posts/{old['number']}")
        assert gone.json()["state"] == "removed"

        # 3. a moderator's removal through the staff API (DSA Art. 17: a person decided)
        p = await publish(client, alice, "alice_news", "a post a moderator finds illegal")
        pid = await internal_id(client, mod, "alice_news", p["number"])
        r = await client.post(f"/api/v1/admin/posts/{pid}/remove", headers=mod,
                              json={"labels": ["other_illegal"]})
        assert r.status_code == 200, r.text
        removed = (await newest(client, alice, 3))[0]
        assert "A person took this decision" in removed["statement"]["text"]
        assert "illegal content" in removed["statement"]["text"]
        assert BANK_MATCH_WORDING not in removed["statement"]["text"]

        # 4. a moderator's decision on a report: channel ban (owner told)
        await make_channel(client, alice, "alice_second")
        case = (await report(client, bob, report_body("channel", channel="alice_second"))
                )["case_id"]
        await decide(client, mod, case, "ban_channel", "terrorist_content")
        banned = (await newest(client, alice, 4))[0]
        assert banned["case_id"] == case
        assert "Your channel was banned" in banned["statement"]["text"]
        assert BANK_MATCH_WORDING not in banned["statement"]["text"]

        # 5. a removal order: the ground is the order and its law, not a bank match
        bka = await authority(client, admin, "bka")
        target = await publish(client, alice, "alice_news", "a post an authority orders down")
        await submit(client, bka, order_body(f"/c/alice_news/{target['number']}"))
        [ordered] = [n for n in await notices(client, alice) if n["kind"] == "removal_order"]
        text = ordered["statement"]["text"]
        assert BANK_MATCH_WORDING not in text and "matched" not in text
        assert "Regulation (EU) 2021/784, Art. 3 (removal order)" in ordered["statement"][
            "ground"]
        assert "Bundeskriminalamt (DE) found this to be terrorist content" in text
        assert "We acted on an order from a competent authority." in text

        # 6. a removal order suspending an account: readable while suspended
        await submit(client, bka, order_body("account:bob", "BKA-2026-0002"))
        assert (await client.get("/api/v1/accounts/me", headers=bob)).status_code == 403
        [suspended] = [n for n in await notices(client, bob) if n["kind"] == "removal_order"]
        assert "Your account was suspended." in suspended["statement"]["text"]


async def test_a_threshold_ban_tells_the_owner_when_a_channel_admin_posted(
        api: AppFactory) -> None:
    """The strikes are the poster's; the ban hits the owner's channel: both are told."""
    async with api() as client:
        admin = await member(client, "boss", "admin")
        owner, helper = await member(client, "owner"), await member(client, "helper")
        await make_channel(client, owner, "shared_desk")
        r = await client.put("/api/v1/channels/shared_desk/admins/helper", headers=owner,
                             json={})
        assert r.status_code == 204, r.text
        texts = [f"terror manual part {i} for the cause" for i in range(3)]
        for text in texts:
            await bank_text(client, admin, "TERROR_TEXT", text)
        for text in texts:
            await publish(client, helper, "shared_desk", text, 422)
        [last, *_] = await newest(client, helper, 3)
        assert "ban_channel" in last["measures"]
        assert last["statement"]["restrictions"] == ["content_removed",
                                                     "service_partially_terminated"]
        [to_owner] = await newest(client, owner, 1)
        assert to_owner["statement"]["statement_id"] == last["statement"]["statement_id"]
        assert "Your channel was banned." in to_owner["statement"]["text"]


async def test_seeded_history_adds_up(api: AppFactory) -> None:
    """Six refusals, two of them reposts of auto-banked content, three strikes for alice
    and the ban at the third (not at the second, when she repeats an attempt); bob's
    repost of content a moderator removed: every figure is written out below."""
    clock = ManualClock()  # 2026-01-01T00:00Z

    async def step() -> None:
        clock.advance(1_000)

    async with api(clock=clock) as client:
        admin = await member(client, "boss", "admin")
        mod = await member(client, "mod_anna", "moderator")
        alice, bob = await member(client, "alice"), await member(client, "bob")
        await make_channel(client, alice, "alpha_news")
        await make_channel(client, bob, "beta_news")
        t0, t1, t2 = (f"banned propaganda number {i} join us now" for i in range(3))
        for text in (t0, t1, t2):
            await bank_text(client, admin, "TERROR_TEXT", text)
        for text in (t0, t0, t1, t1):  # two strikes; each repeat is a blocked repost
            await step()
            await publish(client, alice, "alpha_news", text, 422)
        assert await strikes(client, "alice") == 2
        assert (await client.get("/api/v1/channels/alpha_news")).status_code == 200
        await step()
        await publish(client, alice, "alpha_news", t2, 422)  # the third strike: banned
        assert await strikes(client, "alice") == 3
        assert (await client.get("/api/v1/channels/alpha_news")).status_code == 410
        await step()
        await publish(client, bob, "beta_news", t0, 422)  # a repost of auto-banked content
        await step()
        kept = await publish(client, bob, "beta_news", "a post the moderator removes")
        kept_id = await internal_id(client, mod, "beta_news", kept["number"])
        r = await client.post(f"/api/v1/admin/posts/{kept_id}/remove", headers=mod,
                              json={"labels": ["terrorist_content"]})
        assert r.status_code == 200, r.text
        await step()
        await publish(client, bob, "beta_news", "a post the moderator removes", 422)
        assert await strikes(client, "bob") == 2

        r = await client.get("/api/v1/transparency/report?from=2026-01-01&to=2026-01-01",
                             headers=admin)
        assert r.status_code == 200, r.text
        figures = r.json()
        assert figures["actions_by_action"] == {"reject": 7, "strike": 5, "ban_channel": 1,
                                                "remove": 1}
        assert figures["actions_total"] == 14
        assert figures["automated_decisions"] == 13 and figures["human_decisions"] == 1
        assert figures["reposts_blocked"] == 4
        assert figures["terror_channel_bans_by_day"] == {"2026-01-01": 1}
        assert figures["actions_by_category"] == {"category:terrorist_content": 14}
        bans = (await client.get(
            "/transparency/terrorist-channel-bans.json?from=2025-12-31&to=2026-01-01")).json()
        assert bans["total"] == 1
        assert [d["channels_banned"] for d in bans["days"]] == [0, 1]
        page = await client.get("/transparency?period=2026-01")
        assert "Reposts of removed content blocked" in page.text
        alice_inbox = statements(await notices(client, alice))
        assert len(alice_inbox) == 5  # one statement a refused attempt, the ban in the last
        assert [n["strikes"]["active"] for n in alice_inbox if "strikes" in n] == [3, 2, 1]

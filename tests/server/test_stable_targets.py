"""Measures stick to their target (issue #17, item 6): a removed or held post changes
only through review and appeal, and deleting a channel never lets an open case come to
mean another user's channel or post."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import AppFactory, fresh_database
from tests.server.channel_util import channel, internal_id, photo, post, upload, user
from tests.server.hold_util import banked_photo
from tests.server.order_util import eventually
from tests.server.report_util import report, report_body, staff
from tests.server.test_actions_api import strikes
from tests.server.test_review_api import decide


async def _everywhere(client: httpx.AsyncClient, handle: str, number: int,
                      headers: dict[str, str] | None = None) -> str:
    """Everything the public routes say about a channel and one post, as one string."""
    parts = []
    for url in (f"/api/v1/channels/{handle}/posts/{number}", f"/api/v1/channels/{handle}/posts",
                f"/api/v1/channels/{handle}/updates?since=0", f"/c/{handle}",
                f"/c/{handle}/{number}", "/api/v1/search/posts?q=words"):
        r = await client.get(url, headers=headers or {})
        parts.append(r.text)
    return "\n".join(parts)


async def test_owner_cannot_undo_a_removal_by_edit_or_forward(api: AppFactory) -> None:
    async with api() as client:
        alice, bob = await user(client, "alice"), await user(client, "bob")
        mod = await staff(client, "mod_anna", "moderator")
        await channel(client, alice, "news_desk")
        await channel(client, alice, "other_desk")
        p = await post(client, alice, "news_desk", "forbidden words")
        case = await report(client, bob, report_body("post", channel="news_desk",
                                                     number=p["number"]))
        await decide(client, mod, case["case_id"], "remove")
        url = f"/api/v1/channels/news_desk/posts/{p['number']}"
        for body in ({"text": "harmless now"}, {}, {"media": []}, {"text": ""}):
            r = await client.patch(url, headers=alice, json=body)
            assert r.status_code == 409, (body, r.text)
            assert r.json()["error"]["code"] == "post_removed"
            assert "appeal" in r.json()["error"]["message"]
        r = await client.post(f"{url}/forward", headers=alice, json={"to": "other_desk"})
        assert r.status_code == 409 and r.json()["error"]["code"] == "post_removed"
        r = await client.put("/api/v1/channels/news_desk/pin", headers=alice,
                             json={"number": p["number"]})
        assert r.status_code == 400
        assert (await client.get(url, headers=alice)).json()["state"] == "removed"
        seen = await _everywhere(client, "news_desk", p["number"], alice)
        assert "forbidden" not in seen and "harmless" not in seen
        history = (await client.get("/api/v1/channels/other_desk/posts")).json()
        assert history["posts"] == []  # nothing was forwarded


async def test_held_post_changes_only_through_review(api: AppFactory) -> None:
    async with api() as client:
        alice = await user(client, "alice")
        admin = await staff(client, "root_admin", "admin")
        await channel(client, alice, "news_desk")
        await channel(client, alice, "other_desk")
        picture = await banked_photo(client, admin, alice)
        held = await post(client, alice, "news_desk", "doubtful words", [picture])
        assert held["state"] == "held"
        url = f"/api/v1/channels/news_desk/posts/{held['number']}"
        # an edit the gate would pass (the banked picture dropped) is refused too
        r = await client.patch(url, headers=alice, json={"text": "fine words", "media": []})
        assert r.status_code == 409 and r.json()["error"]["code"] == "post_held"
        r = await client.post(f"{url}/forward", headers=alice, json={"to": "other_desk"})
        assert r.status_code == 409 and r.json()["error"]["code"] == "post_held"
        # the public does not learn the held post exists; its author sees it
        assert (await client.get(url)).status_code == 404
        mine = (await client.get(url, headers=alice)).json()
        assert mine["state"] == "held" and mine["text"] == "doubtful words"


async def _case_ids(client: httpx.AsyncClient, mod: dict[str, str]) -> dict[str, str]:
    queue = (await client.get("/api/v1/mod/queue", headers=mod)).json()
    return {q["target"]["kind"]: q["id"] for q in queue}


async def test_deleted_channel_with_open_cases_never_hits_a_new_channel(
        api: AppFactory) -> None:
    async with api() as client:
        alice, bob, carol = (await user(client, "alice"), await user(client, "bob"),
                             await user(client, "carol"))
        mod = await staff(client, "mod_anna", "moderator")
        admin = await staff(client, "root_admin", "admin")
        old_channel = await channel(client, alice, "daily_news")
        old_post = await post(client, alice, "daily_news", "words under review")
        old_id = await internal_id(client, mod, "daily_news", old_post["number"])
        await report(client, bob, report_body("post", channel="daily_news",
                                              number=old_post["number"]))
        await report(client, bob, report_body("channel", channel="daily_news"))
        cases = await _case_ids(client, mod)
        assert set(cases) == {"post", "channel"}
        assert (await client.delete("/api/v1/channels/daily_news",
                                    headers=alice)).status_code == 204
        assert (await client.get("/api/v1/channels/daily_news")).status_code == 404
        # the post under review was preserved before the deletion wiped it
        preserved = (await client.get("/api/v1/preservation", headers=admin)).json()
        assert [(i["target"], i["cause"]) for i in preserved] == [
            ({"kind": "post", "ref": str(old_id)}, "deleted_under_review")]
        # an innocent user takes the freed handle and posts: new ids, never the old ones
        # (with its own title: the same handle *and* title as a channel deleted under
        # review is held as a returning channel, issue 24)
        new_channel = await channel(client, carol, "daily_news", "Carol's morning paper")
        new_post = await post(client, carol, "daily_news", "innocent words")
        new_id = await internal_id(client, mod, "daily_news", new_post["number"])
        assert new_channel["id"] != old_channel["id"] and new_id != old_id
        # the case pages say the targets were deleted
        content = (await client.get(f"/api/v1/mod/cases/{cases['post']}",
                                    headers=mod)).json()["content"]
        assert content["deleted"] is True and content["channel"] == f"deleted.{old_channel['id']}"
        # deciding the cases says what happened and touches nothing of carol's
        err = await decide(client, mod, cases["post"], "remove", status=409)
        assert err["error"]["code"] == "target_deleted"
        err = await decide(client, mod, cases["channel"], "ban_channel", status=409)
        assert err["error"]["code"] == "target_deleted"
        await decide(client, mod, cases["channel"], "suspend_account")  # alice's account
        assert (await client.get("/api/v1/accounts/me", headers=carol)).status_code == 200
        chan = await client.get("/api/v1/channels/daily_news")
        assert chan.status_code == 200 and chan.json()["state"] == "visible"
        got = (await client.get(f"/api/v1/channels/daily_news/posts/{new_post['number']}")).json()
        assert got["state"] == "visible" and got["text"] == "innocent words"
        found = (await client.get("/api/v1/search/posts?q=innocent")).json()
        assert [(p["channel"], p["number"]) for p in found] == [
            ("daily_news", new_post["number"])]


async def test_deleted_post_under_review_is_preserved(api: AppFactory) -> None:
    async with api() as client:
        alice, bob = await user(client, "alice"), await user(client, "bob")
        admin = await staff(client, "root_admin", "admin")
        await channel(client, alice, "daily_news")
        p = await post(client, alice, "daily_news", "evidence words")
        q = await post(client, alice, "daily_news", "ordinary words")
        pid = await internal_id(client, admin, "daily_news", p["number"])
        await report(client, bob, report_body("post", channel="daily_news", number=p["number"]))
        for target in (p, q):
            assert (await client.delete(f"/api/v1/channels/daily_news/posts/{target['number']}",
                                        headers=alice)).status_code == 204
        items: list[dict[str, Any]] = (await client.get("/api/v1/preservation",
                                                        headers=admin)).json()
        # the post nobody reported is simply deleted
        assert [i["target"] for i in items] == [{"kind": "post", "ref": str(pid)}]
        record = (await client.get(f"/api/v1/preservation/{items[0]['id']}",
                                   headers=admin)).json()
        assert "evidence words" in json.dumps(record)


async def test_reversed_appeal_undoes_the_bank_entry_retro_scan_and_strikes(
        api: AppFactory, db_kind: str, tmp_path: Path) -> None:
    """Every form the removal banked (text hashes, signatures, the picture's hashes and
    crops) and what the retro-scan did with them (the copy, re-encoded, removed with its
    picture withdrawn, its own hashes banked, a strike) is undone by the reversal."""
    text = "a long enough report that a moderator wrongly took for propaganda, copied twice"
    async with api(database_url=await fresh_database(db_kind, tmp_path, migrated=True)) as client:
        alice, bob = await user(client, "alice"), await user(client, "bob")
        carol = await user(client, "carol")
        anna = await staff(client, "mod_anna", "moderator")
        ben = await staff(client, "mod_ben", "moderator")
        await channel(client, alice, "news_desk")
        await channel(client, carol, "other_desk")
        picture = (await upload(client, alice, photo(seed=3)))["sha256"]
        reencoded = (await upload(client, carol, photo(seed=3, fmt="JPEG")))["sha256"]
        original = await post(client, alice, "news_desk", text, [picture])
        copy = await post(client, carol, "other_desk", text, [reencoded])
        case = await report(client, bob, report_body("post", channel="news_desk",
                                                     number=original["number"]))
        await decide(client, anna, case["case_id"], "remove")
        copy_url = f"/api/v1/channels/other_desk/posts/{copy['number']}"
        got = await eventually(lambda: client.get(copy_url),
                               lambda r: r.json().get("state") == "removed", 20.0)
        assert got.json()["state"] == "removed"  # the retro-scan caught the copy
        # the copy matched an entry labelled terrorist content: its author got a strike
        assert await eventually(lambda: strikes(client, "carol"), lambda n: n == 1, 20.0) == 1
        for sha in (picture, reencoded):
            assert (await client.get(f"/media/{sha}")).status_code == 410
        r = await client.post("/api/v1/channels/other_desk/posts", headers=carol,
                              json={"text": text})
        assert r.status_code == 422  # the auto-banked text is refused
        r = await client.post(f"/api/v1/cases/{case['case_id']}/appeal", headers=alice,
                              json={"text": "This is reporting, not propaganda."})
        assert r.status_code == 201, r.text
        r = await client.post(f"/api/v1/mod/cases/{case['case_id']}/appeal-decision",
                              headers=ben, json={"decision": "reverse"})
        assert r.status_code == 200, r.text
        back = (await client.get(f"/api/v1/channels/news_desk/posts/{original['number']}")).json()
        assert back["state"] == "visible" and back["text"] == text
        assert (await client.get(copy_url)).json()["state"] == "visible"
        for sha in (picture, reencoded):
            assert (await client.get(f"/media/{sha}")).status_code == 200
        assert await strikes(client, "carol") == 0
        again = await client.post("/api/v1/channels/other_desk/posts", headers=carol,
                                  json={"text": text, "media": [reencoded]})
        assert again.status_code == 201, again.text
        assert again.json()["state"] == "visible"
        banked = (await client.get("/api/v1/banks/LOCAL_TAKEDOWN/entries?limit=200",
                                   headers=anna)).json()["entries"]
        assert banked and not [e for e in banked if e["enabled"]]

"""Posts through the API: limits, history, edit, delete, forward, pin, views, search."""

from __future__ import annotations

import json

from tests.conftest import AppFactory
from tests.server.channel_util import channel, photo, post, upload, user
from tidings.protocol import limits


async def test_post_limits(api: AppFactory) -> None:
    async with api() as client:
        alice = await user(client, "alice")
        await channel(client, alice, "limits_chan")
        url = "/api/v1/channels/limits_chan/posts"
        ok = await client.post(url, headers=alice, json={"text": "x" * limits.POST_TEXT_MAX})
        assert ok.status_code == 201
        too_long = await client.post(url, headers=alice,
                                     json={"text": "x" * (limits.POST_TEXT_MAX + 1)})
        assert too_long.status_code == 400 and too_long.json()["error"]["code"] == "invalid_text"
        empty = await client.post(url, headers=alice, json={"text": "  "})
        assert empty.json()["error"]["code"] == "empty_post"
        ids = [(await upload(client, alice, photo(seed=i)))["sha256"] for i in range(11)]
        assert (await client.post(url, headers=alice, json={"media": ids[:10]})
                ).status_code == 201
        eleven = await client.post(url, headers=alice, json={"media": ids})
        assert eleven.status_code == 422
        unknown = await client.post(url, headers=alice, json={"media": ["0" * 64]})
        assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "unknown_media")
        traversal = await client.post(url, headers=alice, json={"media": ["../../etc/passwd"]})
        assert traversal.json()["error"]["code"] == "invalid_media_id"


async def test_history_pagination_newest_first(api: AppFactory) -> None:
    async with api() as client:
        alice = await user(client, "alice")
        await channel(client, alice, "history_chan")
        await channel(client, alice, "other_chan")
        await post(client, alice, "other_chan", "ids move on; numbers are per channel")
        ids = [(await post(client, alice, "history_chan", f"post {i}"))["number"]
               for i in range(7)]
        assert ids == list(range(1, 8))
        url = "/api/v1/channels/history_chan/posts"
        first = (await client.get(url, params={"limit": 3})).json()
        assert [p["number"] for p in first["posts"]] == ids[::-1][:3]
        second = (await client.get(url, params={"limit": 3,
                                                "before": first["next_before"]})).json()
        assert [p["number"] for p in second["posts"]] == ids[::-1][3:6]
        from_third = (await client.get(url, params={"from": ids[2], "limit": 10})).json()
        assert [p["number"] for p in from_third["posts"]] == [ids[2], ids[1], ids[0]]
        assert from_third["next_before"] is None


async def test_edit_delete_forward_pin_views(api: AppFactory) -> None:
    async with api() as client:
        alice, bob = await user(client, "alice"), await user(client, "bob")
        await channel(client, alice, "source_chan", "Source")
        await channel(client, alice, "target_chan", "Target")
        original = await post(client, alice, "source_chan", "breaking story")
        url = f"/api/v1/channels/source_chan/posts/{original['number']}"
        edited = (await client.patch(url, headers=alice, json={"text": "breaking story!"})).json()
        assert edited["text"] == "breaking story!" and edited["edited_at"]
        fwd = await client.post(f"{url}/forward", headers=alice, json={"to": "target_chan"})
        assert fwd.status_code == 201
        assert fwd.json()["forwarded_from"] == {"channel": "source_chan", "title": "Source",
                                               "number": original["number"]}
        assert (await client.post(f"{url}/forward", headers=bob,
                                  json={"to": "target_chan"})).status_code == 403
        assert (await client.put("/api/v1/channels/source_chan/pin", headers=alice,
                                 json={"number": original["number"]})).status_code == 204
        chan = (await client.get("/api/v1/channels/source_chan")).json()
        assert chan["pinned_number"] == original["number"]
        views_url = "/api/v1/channels/source_chan/views"
        for who in (alice, bob, bob):  # one view per account
            counts = (await client.post(views_url, headers=who,
                                        json={"numbers": [original["number"]]})).json()
        assert counts == {str(original["number"]): 2}
        assert (await client.delete(url, headers=bob)).status_code == 403
        assert (await client.delete(url, headers=alice)).status_code == 204
        gone = (await client.get(url)).json()
        assert gone == {"number": original["number"], "channel": "source_chan",
                        "state": "deleted"}
        page = (await client.get("/api/v1/channels/source_chan/posts")).json()
        assert page["posts"] == [] and page["channel"]["pinned_number"] is None
        assert (await client.patch(url, headers=alice, json={"text": "again"})).status_code == 404


async def test_updates_log_for_catch_up(api: AppFactory) -> None:
    async with api() as client:
        alice = await user(client, "alice")
        await channel(client, alice, "log_chan")
        a = await post(client, alice, "log_chan", "one")
        await post(client, alice, "log_chan", "two")
        await client.patch(f"/api/v1/channels/log_chan/posts/{a['number']}", headers=alice,
                           json={"text": "one (fixed)"})
        await client.delete(f"/api/v1/channels/log_chan/posts/{a['number']}", headers=alice)
        log = (await client.get("/api/v1/channels/log_chan/updates?since=0")).json()
        assert log["head"] == 4
        assert [(u["seq"], u["kind"]) for u in log["updates"]] == [
            (1, "post"), (2, "post"), (3, "edit"), (4, "delete")]
        # the log renders each post as it is now: the deleted post is a tombstone in
        # every entry about it, so neither "one" nor "one (fixed)" can be read back
        assert all(u["post"] == {"number": 1, "channel": "log_chan", "state": "deleted"}
                   for u in log["updates"] if u["post"]["number"] == a["number"])
        assert "one" not in json.dumps(log)
        later = (await client.get("/api/v1/channels/log_chan/updates?since=2")).json()
        assert [u["seq"] for u in later["updates"]] == [3, 4]


async def test_search_channels_and_posts(api: AppFactory) -> None:
    async with api() as client:
        alice = await user(client, "alice")
        await channel(client, alice, "astronomy_daily", "Astronomy Daily",
                      description="Telescopes, planets and comets")
        await channel(client, alice, "garden_tips", "Garden Tips",
                      description="Tomatoes and a planetarium visit once")
        await post(client, alice, "astronomy_daily", "Jupiter is bright tonight")
        await post(client, alice, "garden_tips", "Plant garlic before winter")
        found = (await client.get("/api/v1/search/channels?q=planet")).json()
        assert [c["handle"] for c in found] == ["astronomy_daily", "garden_tips"]
        assert [c["handle"] for c in (await client.get(
            "/api/v1/search/channels?q=astronomy")).json()] == ["astronomy_daily"]
        posts = (await client.get("/api/v1/search/posts?q=jupiter bright")).json()
        assert [p["text"] for p in posts] == ["Jupiter is bright tonight"]
        syntax = await client.get('/api/v1/search/posts?q="AND OR * NEAR( -')
        assert syntax.status_code == 200

"""Per-channel post numbers (docs/decisions.md "Post identifiers"): ``/c/HANDLE/N`` is the
channel's N-th post whatever other channels posted, a number is never given twice in a
channel (deletion included, concurrent posters included, on both engines), and orders
and reports accept the public URL."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.conftest import AppFactory, fresh_database
from tests.server.channel_util import channel, internal_id, post, user
from tests.server.order_util import authority, member, order_body, submit
from tests.server.report_util import report, report_body

CONCURRENT = 12


async def test_first_post_is_one_after_other_channels_posted(api: AppFactory) -> None:
    async with api() as client:
        alice, bob = await user(client, "alice"), await user(client, "bob")
        await channel(client, alice, "busy_news")
        for i in range(3):
            await post(client, alice, "busy_news", f"busy {i}")
        await channel(client, bob, "fresh_news")
        first = await post(client, bob, "fresh_news", "hello from fresh")
        second = await post(client, bob, "fresh_news", "second words")
        assert (first["number"], second["number"]) == (1, 2)
        assert "id" not in first  # the global id is internal (staff only) ...
        admin = await member(client, "root_admin", "admin")
        assert await internal_id(client, admin, "fresh_news", 1) == 4  # ... and global
        assert first["channel"] == "fresh_news"
        got = (await client.get("/api/v1/channels/fresh_news/posts/1")).json()
        assert got["text"] == "hello from fresh" and got["number"] == 1
        page = await client.get("/c/fresh_news/1")
        assert page.status_code == 200 and "hello from fresh" in page.text
        assert 'href="/c/fresh_news/1"' in page.text and "busy" not in page.text
        assert (await client.get("/c/fresh_news/3")).status_code == 404
        # history pages by number: before=2 gives the first post only
        older = (await client.get("/api/v1/channels/fresh_news/posts",
                                  params={"before": 2})).json()
        assert [p["number"] for p in older["posts"]] == [1]
        # pins and views name the number too
        assert (await client.put("/api/v1/channels/fresh_news/pin", headers=bob,
                                 json={"number": 2})).status_code == 204
        chan = (await client.get("/api/v1/channels/fresh_news")).json()
        assert chan["pinned_number"] == 2 and "pinned_post_id" not in chan
        seen = await client.post("/api/v1/channels/fresh_news/views", headers=alice,
                                 json={"numbers": [1, 2, 99]})
        assert seen.json() == {"1": 1, "2": 1}
        # a forward names its source by channel and number
        fwd = await client.post("/api/v1/channels/fresh_news/posts/2/forward", headers=bob,
                                json={"to": "fresh_news"})
        assert fwd.json()["forwarded_from"]["number"] == 2 and fwd.json()["number"] == 3
        assert 'href="/c/fresh_news/2"' in (await client.get("/c/fresh_news/3")).text


async def test_numbers_are_never_reused_after_deletion(api: AppFactory) -> None:
    async with api() as client:
        alice = await user(client, "alice")
        await channel(client, alice, "gone_news")
        for i in range(3):
            await post(client, alice, "gone_news", f"post {i}")
        for number in (3, 2):
            r = await client.delete(f"/api/v1/channels/gone_news/posts/{number}", headers=alice)
            assert r.status_code == 204
        again = await post(client, alice, "gone_news", "after the deletions")
        assert again["number"] == 4
        tomb = (await client.get("/api/v1/channels/gone_news/posts/3")).json()
        assert tomb == {"number": 3, "channel": "gone_news", "state": "deleted"}
        assert (await client.get("/c/gone_news/3")).status_code == 410
        # deleting the whole channel keeps its posts' numbers with it; a new channel with
        # the freed handle starts again at 1
        assert (await client.delete("/api/v1/channels/gone_news",
                                    headers=alice)).status_code == 204
        await channel(client, alice, "gone_news")
        assert (await post(client, alice, "gone_news", "a new start"))["number"] == 1


async def test_concurrent_posts_get_distinct_consecutive_numbers(
        api: AppFactory, db_kind: str, tmp_path: Path) -> None:
    async with api(database_url=await fresh_database(db_kind, tmp_path, migrated=True)) as client:
        alice, bob = await user(client, "alice"), await user(client, "bob")
        await channel(client, alice, "race_news")
        await channel(client, bob, "other_race")

        async def one(i: int) -> int:
            if i % 3 == 0:  # another channel posting at the same time takes no numbers
                await post(client, bob, "other_race", f"elsewhere {i}")
            made = await post(client, alice, "race_news", f"racing {i}")
            return int(made["number"])

        numbers = await asyncio.gather(*(one(i) for i in range(CONCURRENT)))
        assert sorted(numbers) == list(range(1, CONCURRENT + 1))
        other = (await client.get("/api/v1/channels/other_race/posts")).json()["posts"]
        assert sorted(p["number"] for p in other) == list(range(1, CONCURRENT // 3 + 1))
        for n in numbers:
            got = (await client.get(f"/api/v1/channels/race_news/posts/{n}")).json()
            assert got["number"] == n and got["channel"] == "race_news"


async def test_orders_and_reports_take_the_public_url(api: AppFactory) -> None:
    async with api() as client:
        alice, bob = await member(client, "alice"), await member(client, "bob")
        admin = await member(client, "root_admin", "admin")
        bka = await authority(client, admin, "bka")
        await channel(client, bob, "decoy_news")
        decoy = await post(client, bob, "decoy_news", "harmless weather report")
        await post(client, bob, "decoy_news", "more harmless weather")
        await channel(client, alice, "bad_news")
        bad = await post(client, alice, "bad_news", "glorious martyrdom operation tonight")
        decoy_id = await internal_id(client, admin, "decoy_news", decoy["number"])
        bad_id = await internal_id(client, admin, "bad_news", bad["number"])
        assert bad["number"] == 1 and decoy_id == 1  # the URL's 1 is not the id 1
        url = "http://127.0.0.1:8080/c/bad_news/1"
        order = await submit(client, bka, order_body(url, "BKA-N1"))
        assert order["status"] == "completed"
        assert order["target"] == {"kind": "post", "ref": str(bad_id), "url": url}
        assert (await client.get("/c/bad_news/1")).status_code == 410
        assert (await client.get("/api/v1/channels/decoy_news/posts/1")).json()[
            "state"] == "visible"
        # reports: by channel and number, by path, by full URL; a foreign host is refused
        spam = await post(client, alice, "bad_news", "buy cheap pills")
        by_number = await report(client, bob, report_body("post", "spam", channel="bad_news",
                                                          number=spam["number"]))
        by_path = await report(client, bob, report_body("post", "spam",
                                                        url=f"/c/bad_news/{spam['number']}"))
        by_url = await report(client, bob, report_body(
            "post", "spam", url=f"http://127.0.0.1:8080/c/bad_news/{spam['number']}"))
        assert by_number["case_id"] == by_path["case_id"] == by_url["case_id"]
        channel_report = await report(client, bob, report_body("channel", "spam",
                                                               url="/c/decoy_news"))
        assert channel_report["case_id"] != by_number["case_id"]
        for body, code in ((report_body("post", "spam", url="https://evil.example/c/x/1"),
                            "bad_target"),
                           (report_body("post", "spam", url="/c/bad_news/77"),
                            "post_not_found")):
            r = await client.post("/api/v1/reports", headers=bob, json=body)
            assert r.status_code in (400, 404) and r.json()["error"]["code"] == code, r.text

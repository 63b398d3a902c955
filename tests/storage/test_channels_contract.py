"""The channel store contract, on SQLite and PostgreSQL: sequences, counters, search."""

from __future__ import annotations

import asyncio

import pytest

from tidings.protocol.errors import Conflict
from tidings.storage.accounts import AccountStore
from tidings.storage.channels import ChannelRecord, ChannelStore
from tidings.storage.database import Database
from tidings.storage.search import SearchIndex, query_terms

accounts = AccountStore()
store = ChannelStore()
search = SearchIndex()


async def _owner(db: Database, name: str = "owner") -> int:
    async with db.write() as conn:
        return (await accounts.create_user(conn, name, "h", "user", 1)).id


async def _channel(db: Database, owner: int, handle: str, title: str,
                   description: str = "", visibility: str = "public") -> ChannelRecord:
    async with db.write() as conn:
        channel = await store.create(conn, handle=handle, handle_key=handle.replace("_", ""),
                                     title=title, title_key=title.lower().replace(" ", ""),
                                     description=description, visibility=visibility,
                                     owner_id=owner, created_at=1)
        await search.index_channel(conn, channel.id, handle, title, description)
    return channel


async def _post(db: Database, channel: ChannelRecord, text: str) -> int:
    async with db.write() as conn:
        p = await store.insert_post(conn, [], channel_id=channel.id, author_id=channel.owner_id,
                                    text=text, created_at=1)
        await search.index_post(conn, p.id, text)
        await store.append_update(conn, channel.id, "post", p.id, "{}", 1)
    return p.id


async def test_handle_and_key_are_unique(database: Database) -> None:
    owner = await _owner(database)
    await _channel(database, owner, "news_daily", "News")
    with pytest.raises(Conflict) as taken:
        await _channel(database, owner, "news_daily", "Other")
    assert taken.value.code == "handle_taken"
    with pytest.raises(Conflict) as lookalike:
        async with database.write() as conn:
            await store.create(conn, handle="newsdaily", handle_key="newsdaily", title="x",
                               title_key="x", owner_id=owner, created_at=1)
    assert lookalike.value.code == "handle_confusable"
    async with database.read() as conn:
        assert await store.key_owner(conn, "news") == "news_daily"  # the title's key


async def test_update_sequence_is_gapless_under_concurrency(database: Database) -> None:
    owner = await _owner(database)
    channel = await _channel(database, owner, "busy_chan", "Busy")
    await asyncio.gather(*(_post(database, channel, f"post {i}") for i in range(20)))
    async with database.read() as conn:
        updates = await store.updates(conn, channel.id, 0, 100)
        assert [u.seq for u in updates] == list(range(1, 21))
        assert [u.seq for u in await store.updates(conn, channel.id, 15, 100)] == [16, 17, 18,
                                                                                19, 20]
        # post numbers too: distinct, consecutive, in commit order like the log
        posts = await store.history(conn, channel.id, before=None, start=None, limit=50,
                                    states=("visible",))
        assert sorted(p.number for p in posts) == list(range(1, 21))
        by_id = sorted(posts, key=lambda p: p.id)
        assert [p.number for p in by_id] == list(range(1, 21))
        third = await store.post_by_number(conn, channel.id, 3)
        assert third is not None and third.id == by_id[2].id
        fresh = await store.by_id(conn, channel.id)
        assert fresh is not None and fresh.last_post_number == 20


async def test_subscriptions_and_views_count_once(database: Database) -> None:
    owner = await _owner(database)
    reader = await _owner(database, "reader")
    channel = await _channel(database, owner, "count_chan", "Count")
    post_id = await _post(database, channel, "hello")
    async with database.write() as conn:
        assert await store.subscribe(conn, channel.id, reader, 1)
        assert not await store.subscribe(conn, channel.id, reader, 2)
        await store.record_views(conn, reader, [post_id, post_id])
        await store.record_views(conn, reader, [post_id])
        await store.record_views(conn, owner, [post_id])
    async with database.read() as conn:
        fresh = await store.by_id(conn, channel.id)
        assert fresh is not None and fresh.subscriber_count == 1
        assert await store.subscribed_ids(conn, reader) == [channel.id]
        p = await store.post(conn, post_id)
        assert p is not None and p.views == 2
    async with database.write() as conn:
        assert await store.unsubscribe(conn, channel.id, reader)
        assert not await store.unsubscribe(conn, channel.id, reader)


async def test_search_ranks_and_filters_on_both_engines(database: Database) -> None:
    owner = await _owner(database)
    astro = await _channel(database, owner, "astro_daily", "Astronomy Daily",
                           "Comets and planets")
    garden = await _channel(database, owner, "garden_tips", "Garden Tips",
                            "Tomatoes; once a planetarium trip")
    hidden = await _channel(database, owner, "hidden_astro", "Hidden Astronomy",
                            visibility="unlisted")
    await _post(database, astro, "Jupiter shines bright tonight")
    await _post(database, garden, "Bright tomatoes need sun")
    await _post(database, hidden, "Jupiter secret")
    async with database.read() as conn:
        ids = await search.channels(conn, "astronomy", 10)
        assert ids == [astro.id]  # unlisted channels are never found
        assert await search.channels(conn, "planet", 10) == [astro.id, garden.id]
        jupiter = await search.posts(conn, "jupiter", 10)
        assert len(jupiter) == 1
        assert len(await search.posts(conn, "bright", 10)) == 2
        assert await search.posts(conn, "jupiter tomatoes", 10) == []  # all words required
        assert await search.posts(conn, '") OR * NEAR(', 10) == []
        assert await search.channels(conn, "", 10) == []


def test_query_terms_are_bounded_words() -> None:
    assert query_terms('Hello, "world"* OR -x') == ["hello", "world", "or", "x"]
    assert len(query_terms(" ".join(f"w{i}" for i in range(100)))) == 16

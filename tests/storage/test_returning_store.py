"""The returning-channel store, on SQLite and PostgreSQL: one fingerprint per banned
channel (the first ground is kept), holds by case and by period."""

from __future__ import annotations

from tidings.moderation.resemblance import Fingerprint
from tidings.storage.accounts import AccountStore
from tidings.storage.channels import ChannelStore
from tidings.storage.database import Database
from tidings.storage.returning import BANNED, HELD, ReturningStore

store = ReturningStore()


async def _channel(db: Database, handle: str) -> int:
    async with db.write() as conn:
        owner = await AccountStore().create_user(conn, f"o_{handle}", "h", "user", 1)
        channel = await ChannelStore().create(
            conn, handle=handle, handle_key=handle.replace("_", ""), title=handle,
            title_key=handle.replace("_", ""), owner_id=owner.id, created_at=1)
    return channel.id


async def test_fingerprints_and_holds(database: Database) -> None:
    banned, back = await _channel(database, "dawn_front"), await _channel(database, "sunrise")
    fp = Fingerprint(banned, "dawn_front", "Dawn Front", "words", ("ab" * 32,), (),
                     ("token",), "category:terrorist_content")
    async with database.write() as conn:
        assert await store.save_fingerprint(conn, fp, "order", 10)
        other = Fingerprint(banned, "dawn_front", "x", label="category:spam")
        assert not await store.save_fingerprint(conn, other, "moderator", 11)
        hold = await store.add_hold(conn, channel_id=back, banned_channel_id=banned,
                                    banned_label=fp.label, score=60,
                                    signals=[{"signal": "title", "weight": 30}],
                                    pending={"title": "T"}, post_id=None, now=100)
        await store.set_case(conn, hold, "c_1")
    async with database.read() as conn:
        assert await store.fingerprints(conn) == [fp]
        assert await store.fingerprint(conn, banned) == fp
        (found,) = await store.holds_of_case(conn, "c_1")
        assert (found.state, found.pending, found.score) == (HELD, {"title": "T"}, 60)
        assert [h.id for h in await store.open_holds(conn, back)] == [hold]
    async with database.write() as conn:
        await store.decide(conn, hold, BANNED, "policy:ban_evasion", 500)
    async with database.read() as conn:
        assert await store.open_holds(conn, back) == []
        assert [h.id for h in await store.holds_between(conn, 400, 600)] == [hold]  # decided
        assert [h.id for h in await store.holds_between(conn, 0, 101)] == [hold]  # held
        assert await store.holds_between(conn, 101, 400) == []


async def test_own_domains_round_trip_and_shared_ones(database: Database) -> None:
    """A fingerprint keeps its own domains; ``shared_domains`` names those in a visible
    post of another visible channel (case-insensitive), not the banned channel's own."""
    banned, other = await _channel(database, "dawn_front"), await _channel(database, "city")
    fp = Fingerprint(banned, "dawn_front", "Dawn Front", label="category:terrorist_content",
                     domains=("dawnfront-media.example",))
    posts = ChannelStore()
    async with database.write() as conn:
        assert await store.save_fingerprint(conn, fp, "order", 10)
        for channel_id, text, state in (
                (banned, "https://dawnfront-media.example https://citynews.example", "visible"),
                (other, "see HTTPS://CityNews.example/vote", "visible"),
                (other, "https://hidden-media.example", "removed")):
            await posts.insert_post(conn, [], channel_id=channel_id, author_id=None,
                                    text=text, media="[]", forwarded_from=None, state=state,
                                    created_at=20)
    async with database.read() as conn:
        assert await store.fingerprints(conn) == [fp]
        shared = await store.shared_domains(
            conn, ["citynews.example", "dawnfront-media.example", "hidden-media.example",
                   "100%_sure.example"], banned)
    assert shared == {"citynews.example"}

"""SessionWatch against a real database (SQLite and PostgreSQL): the session log path
closes exactly the connections a measure names, once, whichever way the news arrives."""

from __future__ import annotations

from tidings.bus.local import LocalBus
from tidings.protocol.control import EndReason, SessionEnded
from tidings.server.sessions import SessionWatch
from tidings.services.live import end_sessions
from tidings.storage.database import Database
from tidings.storage.sessions import SessionEndStore, record_end, session_ends


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000

    def __call__(self) -> int:
        return self.now


async def test_the_log_closes_named_connections_once(database: Database) -> None:
    bus, clock = LocalBus(), Clock()
    watch = SessionWatch(database, SessionEndStore(), bus, clock, poll_s=3600)
    async with database.write() as conn:  # before start: history, never applied
        await record_end(conn, 1, None, EndReason.SUSPENDED, clock.now - 10)
    await watch.start()
    try:
        ended: list[tuple[str, EndReason]] = []
        for user, device in ((1, "A1"), (1, "A2"), (2, "B1")):
            watch.register(user, device, lambda r, d=device: ended.append((d, r)))
        assert await watch.poll() == 0
        async with database.write() as conn:
            await record_end(conn, 1, "A2", EndReason.DEVICE_REMOVED, clock.now)
        assert await watch.poll() == 1 and ended == [("A2", EndReason.DEVICE_REMOVED)]
        assert await watch.poll() == 0  # read again in the lookback window, applied once
        # The bus and the log both carry a suspension: it is applied once.
        async with database.write() as conn:
            row = await record_end(conn, 1, None, EndReason.SUSPENDED, clock.now + 1)
        await end_sessions(bus, [row])
        assert ended[1:] == [("A1", EndReason.SUSPENDED)]
        assert await watch.poll() == 0
        assert watch.connections() == 1  # B1 only
    finally:
        await watch.close()


async def test_a_row_that_commits_late_with_a_smaller_id_is_still_found(
        database: Database) -> None:
    """Ids are taken at insert, not at commit: a row can appear behind one already read."""
    bus, clock = LocalBus(), Clock()
    watch = SessionWatch(database, SessionEndStore(), bus, clock, poll_s=3600)
    await watch.start()
    try:
        ended: list[str] = []
        watch.register(7, "X", lambda r: ended.append("X"))
        watch.register(8, "Y", lambda r: ended.append("Y"))
        row = {"reason": "suspended", "created_at": clock.now}
        async with database.write() as conn:
            await conn.execute(session_ends.insert().values(id=1000, user_id=8, **row))
        assert await watch.poll() == 1 and ended == ["Y"]
        async with database.write() as conn:  # the slower transaction, with id 900
            await conn.execute(session_ends.insert().values(id=900, user_id=7, **row))
        clock.now += 2_000  # still inside SESSION_END_LOOKBACK_MS
        assert await watch.poll() == 1 and ended == ["Y", "X"]
    finally:
        await watch.close()


async def test_an_ended_connection_of_another_user_is_untouched(database: Database) -> None:
    watch = SessionWatch(database, SessionEndStore(), LocalBus(), Clock(), poll_s=3600)
    ended: list[EndReason] = []
    handle = watch.register(1, "A", ended.append)
    assert watch.apply(SessionEnded(2, None, EndReason.SUSPENDED, 0)) == 0
    assert watch.apply(SessionEnded(1, "B", EndReason.DEVICE_REMOVED, 0)) == 0
    handle.close()  # the connection ended by itself
    assert watch.apply(SessionEnded(1, None, EndReason.SUSPENDED, 0)) == 0
    assert ended == [] and watch.connections() == 0

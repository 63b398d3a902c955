"""The session log (migration 0011): every measure that ends a session writes a row in
its own transaction; ids are never reused, so readers polling "after the last id" miss
nothing, even after pruning emptied the table (SQLite AUTOINCREMENT)."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from tidings.protocol.control import EndReason, SessionEnded
from tidings.storage import migrate
from tidings.storage.accounts import AccountStore
from tidings.storage.database import Database
from tidings.storage.schema import metadata
from tidings.storage.sessions import SessionEndStore, record_end


async def test_0011_matches_schema_and_reverts(database: Database) -> None:
    def columns(conn: Connection) -> set[str] | None:
        insp = inspect(conn)
        if "session_ends" not in insp.get_table_names():
            return None
        return {c["name"] for c in insp.get_columns("session_ends")}

    async with database.engine.connect() as conn:
        assert await conn.run_sync(columns) == {
            c.name for c in metadata.tables["session_ends"].columns}

    def down(conn: Connection) -> None:
        cfg = migrate._config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0010")

    async with database.engine.begin() as conn:
        await conn.run_sync(down)
    async with database.engine.connect() as conn:
        assert await conn.run_sync(columns) is None
    await migrate.upgrade(database)


async def test_measures_write_the_log_in_their_transaction(database: Database) -> None:
    accounts, log = AccountStore(), SessionEndStore()
    async with database.write() as conn:
        uid = (await accounts.create_user(conn, "mallory", "x", "user", 1)).id
        await accounts.create_device(conn, uid, "D1", "phone", "h1", 1)
        await accounts.create_device(conn, uid, "D2", "laptop", "h2", 1)
        head = await log.head(conn)
    async with database.write() as conn:
        assert await accounts.delete_device(conn, uid, "D1", EndReason.LOGGED_OUT, 10)
        assert not await accounts.delete_device(conn, uid, "D1", EndReason.LOGGED_OUT, 11)
        await accounts.set_suspended(conn, uid, 20)
        await accounts.set_suspended(conn, uid, None)  # lifting it ends nothing
        await accounts.mark_deleted(conn, uid, 30)
    async with database.read() as conn:
        rows = [ended for _, ended in await log.after(conn, head, 10**15, 100)]
    assert rows == [SessionEnded(uid, "D1", EndReason.LOGGED_OUT, 10),
                    SessionEnded(uid, None, EndReason.SUSPENDED, 20),
                    SessionEnded(uid, None, EndReason.ACCOUNT_DELETED, 30)]


async def test_a_rolled_back_measure_leaves_no_row(database: Database) -> None:
    log = SessionEndStore()
    try:
        async with database.write() as conn:
            await record_end(conn, 1, "D9", EndReason.DEVICE_REMOVED, 5)
            raise RuntimeError("the measure failed")
    except RuntimeError:
        pass
    async with database.read() as conn:
        assert await log.after(conn, 0, 0, 10) == []


async def test_ids_are_never_reused_after_pruning(database: Database) -> None:
    log = SessionEndStore()
    async with database.write() as conn:
        for at in (1, 2, 3):
            await record_end(conn, 1, None, EndReason.SUSPENDED, at)
        last = await log.head(conn)
        assert await log.prune(conn, 10) == 3
        await record_end(conn, 2, None, EndReason.SUSPENDED, 50)
    async with database.read() as conn:
        rows = await log.after(conn, last, 10**15, 10)
    assert [(row_id > last, ended.user_id) for row_id, ended in rows] == [(True, 2)]


async def test_recent_rows_are_read_again_whatever_their_id(database: Database) -> None:
    """A transaction that took a smaller id but committed after a larger one was read."""
    log = SessionEndStore()
    async with database.write() as conn:
        await record_end(conn, 1, None, EndReason.SUSPENDED, 1_000)
        await record_end(conn, 2, None, EndReason.SUSPENDED, 9_000)
        last = await log.head(conn)
    async with database.read() as conn:
        assert [e.user_id for _, e in await log.after(conn, last, 5_000, 10)] == [2]
        assert [e.user_id for _, e in await log.after(conn, last, 500, 10)] == [1, 2]

"""The storage contract, run against SQLite and a real PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from tidings.protocol.errors import Conflict
from tidings.storage import migrate
from tidings.storage.accounts import AccountStore
from tidings.storage.database import Database
from tidings.storage.streams import StreamStore

accounts = AccountStore()
streams = StreamStore()


async def _user_with_device(db: Database, name: str, device: str) -> int:
    async with db.write() as conn:
        user = await accounts.create_user(conn, name, "hash", "user", 1)
        await accounts.create_device(conn, user.id, device, "phone", f"tok-{device}", 1)
    return user.id


async def test_users_are_unique(database: Database) -> None:
    await _user_with_device(database, "alice", "D1")
    with pytest.raises(Conflict):
        async with database.write() as conn:
            await accounts.create_user(conn, "alice", "h", "user", 2)
    async with database.read() as conn:
        found = await accounts.user_by_name(conn, "alice")
        assert found is not None and found.role == "user"
        assert await accounts.count_role(conn, "user") == 1


async def test_device_lookup_by_token_hash(database: Database) -> None:
    uid = await _user_with_device(database, "bob", "D2")
    async with database.read() as conn:
        found = await accounts.device_by_token(conn, "tok-D2")
        assert found is not None
        device, user = found
        assert (device.id, user.id, user.username) == ("D2", uid, "bob")
        assert await accounts.device_by_token(conn, "nope") is None


async def test_failed_write_rolls_back(database: Database) -> None:
    with pytest.raises(RuntimeError):
        async with database.write() as conn:
            await accounts.create_user(conn, "carol", "h", "user", 1)
            raise RuntimeError("boom")
    async with database.read() as conn:
        assert await accounts.user_by_name(conn, "carol") is None


async def test_stream_append_read_ack(database: Database) -> None:
    await _user_with_device(database, "dave", "D3")
    async with database.write() as conn:
        events = await streams.append(conn, [("D3", "k", '{"n":1}'), ("D3", "k", '{"n":2}'),
                                             ("gone", "k", "{}")], 5)
    assert [e.seq for e in events] == [1, 2]
    async with database.write() as conn:
        await streams.append(conn, [("D3", "k", '{"n":3}')], 6)
    async with database.read() as conn:
        assert [e.seq for e in await streams.read(conn, "D3", 1, 10)] == [2, 3]
        assert await streams.head(conn, "D3") == 3
    async with database.write() as conn:
        assert await streams.ack(conn, "D3", 2) == 2
    async with database.read() as conn:
        assert [e.body for e in await streams.read(conn, "D3", 0, 10)] == ['{"n":3}']


async def test_concurrent_appends_get_distinct_ordered_seqs(database: Database) -> None:
    await _user_with_device(database, "erin", "D4")
    await _user_with_device(database, "fred", "D5")

    async def writer(i: int) -> None:
        async with database.write() as conn:
            await streams.append(conn, [("D4", "k", f'{{"i":{i}}}'), ("D5", "k", "{}")], i)

    await asyncio.gather(*(writer(i) for i in range(30)))
    async with database.read() as conn:
        seqs = [e.seq for e in await streams.read(conn, "D4", 0, 100)]
        assert seqs == list(range(1, 31))
        assert await streams.head(conn, "D5") == 30


async def test_deleting_a_user_removes_devices_and_streams(database: Database) -> None:
    uid = await _user_with_device(database, "gina", "D6")
    async with database.write() as conn:
        await streams.append(conn, [("D6", "k", "{}")], 1)
        await accounts.mark_deleted(conn, uid, 2)
    async with database.read() as conn:
        assert await accounts.devices_of(conn, uid) == []
        assert await streams.read(conn, "D6", 0, 10) == []
        user = await accounts.user_by_id(conn, uid)
        assert user is not None and user.deleted_at == 2 and user.password_hash is None


async def test_schema_checks(database: Database) -> None:
    await migrate.check_current(database)
    async with database.write() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = 'ffff'"))
    with pytest.raises(migrate.SchemaMismatch, match="newer"):
        await migrate.check_current(database)
    async with database.write() as conn:
        await conn.execute(text("DELETE FROM alembic_version"))
    with pytest.raises(migrate.SchemaMismatch, match="db upgrade"):
        await migrate.check_current(database)

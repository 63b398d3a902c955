"""Key directory storage contract on SQLite and PostgreSQL: a claimed key is never reused."""

from __future__ import annotations

import asyncio

from tidings.storage.accounts import AccountStore
from tidings.storage.database import Database
from tidings.storage.keys import KeyDirectoryStore

keys = KeyDirectoryStore()


async def _device(db: Database, n_keys: int) -> None:
    async with db.write() as conn:
        user = await AccountStore().create_user(conn, "alice", "h", "user", 1)
        await AccountStore().create_device(conn, user.id, "D1", "phone", "tok", 1)
        await keys.put_device_keys(conn, "D1", user.id, "c", "e", "{}", 1)
        await keys.add_one_time_keys(conn, "D1", [(f"k{i}", f'{{"k":{i}}}')
                                                  for i in range(n_keys)], 1)
        await keys.put_fallback(conn, "D1", "fb", '{"fb":1}', 1)


async def test_twenty_concurrent_claims_never_share_a_key(database: Database) -> None:
    await _device(database, 12)

    async def claim() -> str | None:
        async with database.write() as conn:
            return await keys.claim_one_time_key(conn, "D1")

    got = await asyncio.gather(*(claim() for _ in range(20)))
    taken = [k for k in got if k is not None]
    assert len(taken) == len(set(taken)) == 12
    async with database.read() as conn:
        assert await keys.count_one_time_keys(conn, "D1") == 0
        assert await keys.claim_one_time_key(conn, "D1") is None
        assert await keys.fallback(conn, "D1") == '{"fb":1}'


async def test_fallback_is_replaced_and_keys_go_with_the_device(database: Database) -> None:
    await _device(database, 2)
    async with database.write() as conn:
        await keys.put_fallback(conn, "D1", "fb2", '{"fb":2}', 2)
    async with database.write() as conn:
        assert await keys.fallback(conn, "D1") == '{"fb":2}'
        assert await keys.one_time_key_ids(conn, "D1", ["k0", "k9"]) == {"k0"}
        await AccountStore().delete_device(conn, 1, "D1")
    async with database.read() as conn:
        assert await keys.device_keys(conn, "D1") is None
        assert await keys.count_one_time_keys(conn, "D1") == 0
        assert await keys.fallback(conn, "D1") is None

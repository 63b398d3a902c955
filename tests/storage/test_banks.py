"""Bank store contract, run against SQLite and a real PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from tidings.protocol.errors import Conflict
from tidings.storage.banks import BankStore, ExchangeRecord, NewEntry
from tidings.storage.database import Database

store = BankStore()
LABELS = ("category:terrorist_content",)
MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def md5(i: int) -> str:
    return f"{i:032x}"


async def test_banks_create_list_update(database: Database) -> None:
    async with database.write() as conn:
        await store.create_bank(conn, "TERROR_A", "first", {"pdq": 40}, True, 1)
        await store.create_bank(conn, "SPAM_B", "", 12, False, 2)
    with pytest.raises(Conflict):
        async with database.write() as conn:
            await store.create_bank(conn, "TERROR_A", "", None, True, 3)
    async with database.write() as conn:
        await store.update_bank(conn, "SPAM_B", {"enabled": True, "thresholds": None})
    async with database.read() as conn:
        rows = await store.list_banks(conn)
        assert [(b.name, b.enabled, b.thresholds) for b in rows] == [
            ("SPAM_B", True, None), ("TERROR_A", True, {"pdq": 40})]
        assert await store.bank(conn, "NOPE") is None


async def test_entries_unique_and_change_log_in_version_order(database: Database) -> None:
    async with database.write() as conn:
        await store.create_bank(conn, "TERROR_A", "", None, True, 1)
        v1 = await store.bump_version(conn)
        added, dupes = await store.add_entries(conn, "TERROR_A", [
            NewEntry("md5", MD5, LABELS, "s"), NewEntry("md5", MD5, LABELS, "s"),
            NewEntry("url", "https://bad.example/" + "x" * 3000, LABELS, "s")], 5)
        await store.record_changes(conn, v1, [(e.id, "TERROR_A", "add") for e in added], 5)
    assert (len(added), dupes) == (2, 1)
    assert [e.labels for e in added] == [LABELS, LABELS]
    async with database.write() as conn:
        v2 = await store.bump_version(conn)
        again, dupes = await store.add_entries(conn, "TERROR_A", [
            NewEntry("md5", MD5, LABELS, "s"), NewEntry("sha256", "ab" * 32, LABELS, "s")], 6)
        await store.set_entry(conn, added[0].id, enabled=False, labels=["category:spam"])
        await store.record_changes(conn, v2, [(again[0].id, "TERROR_A", "add"),
                                              (added[0].id, "TERROR_A", "disable")], 6)
    assert (len(again), dupes, v2) == (1, 1, v1 + 1)
    async with database.read() as conn:
        assert await store.current_version(conn) == v2
        changes = await store.changes_since(conn, 0, 100)
        assert [(c.version, c.op) for c in changes] == [(v1, "add"), (v1, "add"),
                                                       (v2, "add"), (v2, "disable")]
        assert [c.version for c in await store.changes_since(conn, v1, 100)] == [v2, v2]
        # A batch never splits a version: limit 3 returns version v1 only.
        assert {c.version for c in await store.changes_since(conn, 0, 3)} == {v1}
        # ... and a version bigger than the limit comes whole.
        assert len(await store.changes_since(conn, 0, 1)) == 2
        first = await store.entry(conn, added[0].id)
        assert first is not None and not first.enabled and first.labels == ("category:spam",)
        found = await store.find_entry(conn, "TERROR_A", "md5", MD5)
        assert found is not None and found.id == added[0].id
        page = await store.list_entries(conn, "TERROR_A", 0, 2)
        assert [e.id for e in page] == [added[0].id, added[1].id]
        assert [e.signal_type for e in await store.list_entries(conn, "TERROR_A", 0, 10,
                                                                 q="bad.example")] == ["url"]
        assert await store.list_entries(conn, "TERROR_A", 0, 10, q="%") == []
        enabled = await store.list_entries(conn, None, 0, 10, enabled_only=True)
        assert added[0].id not in {e.id for e in enabled}
        assert await store.entry_counts(conn) == {"TERROR_A": (3, 2)}


async def test_concurrent_writers_get_distinct_versions(database: Database) -> None:
    async with database.write() as conn:
        await store.create_bank(conn, "TERROR_A", "", None, True, 1)

    async def writer(i: int) -> int:
        async with database.write() as conn:
            version = await store.bump_version(conn)
            added, _ = await store.add_entries(conn, "TERROR_A", [
                NewEntry("md5", md5(i), LABELS, "s")], i)
            await store.record_changes(conn, version, [(added[0].id, "TERROR_A", "add")], i)
            return version

    versions = await asyncio.gather(*(writer(i) for i in range(20)))
    assert sorted(versions) == list(range(1, 21))
    async with database.read() as conn:
        assert [c.version for c in await store.changes_since(conn, 0, 100)] == sorted(versions)


async def test_exchange_config_and_checkpoint(database: Database) -> None:
    async with database.write() as conn:
        await store.create_bank(conn, "TERROR_A", "", None, True, 1)
        record = ExchangeRecord("tat", "tat", "TERROR_A", "", {"x": 1}, LABELS, None, None)
        await store.put_exchange(conn, record)
        await store.save_checkpoint(conn, "tat", '{"page": 2}', 9)
        await store.put_exchange(conn, record)  # reconfigure keeps the checkpoint
    async with database.read() as conn:
        got = await store.exchange(conn, "tat")
        assert got is not None
        assert (got.config, got.labels, got.checkpoint, got.last_fetch_at) == (
            {"x": 1}, LABELS, '{"page": 2}', 9)
        assert [x.name for x in await store.exchanges(conn, "TERROR_A")] == ["tat"]

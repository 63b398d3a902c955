"""The order and preservation stores on SQLite and PostgreSQL: the duplicate reference,
listing per authority, the notice claimed once, and purge keeping shared blobs."""

from __future__ import annotations

import pytest

from tidings.protocol.errors import Conflict
from tidings.storage.accounts import AccountStore
from tidings.storage.database import Database
from tidings.storage.orders import AuthorityRecord, OrderRow, OrderStore
from tidings.storage.preservation import PreservationStore, PreservedRow


def _order(order_id: str, authority: int, reference: str, received: int) -> OrderRow:
    return OrderRow(order_id, authority, "BKA", "DE", reference, "post", "7", None,
                    "TCO Art. 3", "reasons", "category:terrorist_content", None, "open",
                    received, None, None, None, None, None, 3, 0, None, None)


async def test_orders_store_contract(database: Database) -> None:
    store = OrderStore()
    async with database.write() as conn:
        bka = await AccountStore().create_user(conn, "bka", None, "authority", 1)
        ocrc = await AccountStore().create_user(conn, "ocrc", None, "authority", 1)
        await store.add_authority(conn, AuthorityRecord(bka.id, "BKA", "DE", 1))
        await store.insert(conn, _order("ro_1", bka.id, "R-1", 10))
        await store.insert(conn, _order("ro_2", bka.id, "R-2", 20))
        await store.insert(conn, _order("ro_3", ocrc.id, "R-1", 30))  # another authority
    with pytest.raises(Conflict):
        async with database.write() as conn:
            await store.insert(conn, _order("ro_4", bka.id, "R-1", 40))
    async with database.write() as conn:
        assert (await store.authority(conn, bka.id)) == AuthorityRecord(bka.id, "BKA", "DE", 1)
        assert await store.authority(conn, ocrc.id) is None
        own = await store.items(conn, authority_user_id=bka.id, status=None, limit=10)
        assert [o.id for o in own] == ["ro_2", "ro_1"]
        assert len(await store.items(conn, authority_user_id=None, status="open", limit=10)) == 3
        assert await store.update(conn, "ro_1", expect_status="open", status="completed",
                                  completed_ms=11)
        assert not await store.update(conn, "ro_1", expect_status="open",
                                      status="cannot_comply")
        assert await store.mark_notice_sent(conn, "ro_1", 12)
        assert not await store.mark_notice_sent(conn, "ro_1", 13)
        got = await store.get(conn, "ro_1")
        assert got is not None and got.status == "completed" and got.notice_sent_ms == 12
        assert await store.get(conn, "ro_4") is None


def _item(item_id: str, expires: int) -> PreservedRow:
    return PreservedRow(item_id, "post", "7", "removal_order", "ro_1", None, 1, '{"a": 1}',
                        1, expires, 0, None, None)


async def test_preservation_store_purge_keeps_blobs_another_item_holds(
        database: Database) -> None:
    store = PreservationStore()
    shared, own = "a" * 64, "b" * 64
    async with database.write() as conn:
        await store.insert(conn, _item("pv_1", 100), [(shared, 5), (own, 6)])
        await store.insert(conn, _item("pv_2", 200), [(shared, 5)])
        assert [r.id for r in await store.of_target(conn, "post", "7")] == ["pv_1", "pv_2"]
        orphans = await store.purge(conn, "pv_1", 150)
        assert orphans == [own]
        purged = await store.get(conn, "pv_1")
        assert purged is not None and purged.purged_ms == 150 and purged.record == "{}"
        assert [r.id for r in await store.of_target(conn, "post", "7")] == ["pv_2"]
        assert await store.purge(conn, "pv_2", 250) == [shared]
        assert await store.items(conn, authority_user_id=2, limit=10) == []

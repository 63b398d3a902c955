"""Contacts, invitations and the claim log on SQLite and PostgreSQL (issue 20 stores)."""

from __future__ import annotations

import sqlalchemy as sa

from tidings.storage.contacts import ACCEPTED, BLOCKED, REQUEST, ContactStore
from tidings.storage.database import Database
from tidings.storage.group_schema import groups
from tidings.storage.invitations import DECLINED, PENDING, InvitationStore
from tidings.storage.schema import users


async def _user(conn: sa.ext.asyncio.AsyncConnection, name: str) -> int:
    return int((await conn.execute(sa.insert(users).values(
        username=name, created_at=1).returning(users.c.id))).scalar_one())


async def test_contacts_upsert_and_lists(database: Database) -> None:
    store = ContactStore()
    async with database.write() as conn:
        a, b, c = [await _user(conn, n) for n in ("ann", "ben", "cat")]
        await store.put(conn, a, b, ACCEPTED, 10)
        await store.put(conn, b, a, REQUEST, 10, only_if_absent=True)
        await store.put(conn, b, a, ACCEPTED, 11, only_if_absent=True)  # kept as it was
        assert await store.pair(conn, a, b) == (ACCEPTED, REQUEST)
        await store.put(conn, b, a, BLOCKED, 12)  # replaced
        await store.put(conn, c, a, BLOCKED, 13)
        assert await store.pair(conn, b, a) == (BLOCKED, ACCEPTED)
        assert await store.blockers(conn, a, [b, c]) == {b, c}
        assert await store.listed(conn, b, BLOCKED, 10) == [("ann", 12)]
        assert await store.count(conn, c, BLOCKED) == 1
        assert await store.remove(conn, b, a, REQUEST) is False
        assert await store.remove(conn, b, a, BLOCKED) is True
        assert await store.pair(conn, a, b) == (ACCEPTED, None)
        assert await store.share_group(conn, a, b) is False


async def test_invitations(database: Database) -> None:
    store = InvitationStore()
    async with database.write() as conn:
        a, b = [await _user(conn, n) for n in ("ann", "ben")]
        await conn.execute(sa.insert(groups).values(id="G1", title="t", created_by=a,
                                                    created_at=1))
        await store.add(conn, "G1", b, a, False, PENDING, 10, 100)
        assert await store.invited(conn, "G1", 50) == {b: "ben"}
        assert await store.count_by_inviter(conn, a, 50) == 1
        assert await store.pending_counts(conn, [b], 50) == {b: 1}
        got = await store.get(conn, "G1", b, 50)
        assert got is not None and got.inviter == "ann" and got.state == PENDING
        await store.set_state(conn, "G1", b, DECLINED)
        assert await store.of_user(conn, b, 50, 10) == []
        assert await store.count_by_inviter(conn, a, 50) == 1  # still outstanding
        assert await store.get(conn, "G1", b, 100) is None  # expired
        await store.prune(conn, 100)
        assert await store.invited(conn, "G1", 0) == {}

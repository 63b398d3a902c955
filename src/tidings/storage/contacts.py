"""Who stands how towards whom: accepted contacts, message requests and blocks.

One row per (owner, peer); see privacy_schema.py. Every method runs in the caller's
transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.storage.group_schema import group_members
from tidings.storage.plan import Plan, Raw
from tidings.storage.privacy_schema import contacts
from tidings.storage.schema import users

ACCEPTED = "accepted"
REQUEST = "request"
BLOCKED = "blocked"


def _insert(conn: AsyncConnection) -> Any:
    return (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(contacts)


class ContactStore:
    async def pair(self, conn: AsyncConnection, a: int, b: int
                   ) -> tuple[str | None, str | None]:
        """``(a's state towards b, b's state towards a)``, None where there is no row."""
        rows = await conn.execute(_pair_select(a, b))
        states = {int(r[0]): str(r[1]) for r in rows}
        return states.get(a), states.get(b)

    def gate_plan(self, a: int, b: int, dialect: str = ""
                  ) -> Plan[tuple[str | None, str | None, bool]]:
        """The send gate's read: ``pair(a, b)``, and ``share_group(a, b)`` only where
        the pair's states leave it to decide (see ``ContactService.gate``). On SQLite
        as prepared ``sqlite3`` statements (storage/plan.py, ``Raw``): this read runs
        on the send path."""
        sqlite = dialect == "sqlite"
        rows = yield (Raw(_SQLITE_PAIR, (a, b, b, a)) if sqlite else _pair_select(a, b))
        states = {int(r[0]): str(r[1]) for r in rows}
        mine, theirs = states.get(a), states.get(b)
        shared = False
        if theirs in (None, REQUEST) or mine == REQUEST:
            if sqlite:
                shared = bool((yield Raw(_SQLITE_SHARE_GROUP, (a, b))))
            else:
                shared = (yield _share_group_select(a, b)).first() is not None
        return mine, theirs, shared

    async def put(self, conn: AsyncConnection, owner: int, peer: int, state: str, now: int,
                  *, only_if_absent: bool = False) -> None:
        stmt = _insert(conn).values(owner_id=owner, peer_id=peer, state=state, changed_at=now)
        if only_if_absent:
            stmt = stmt.on_conflict_do_nothing(index_elements=["owner_id", "peer_id"])
        else:
            stmt = stmt.on_conflict_do_update(index_elements=["owner_id", "peer_id"],
                                              set_={"state": state, "changed_at": now})
        await conn.execute(stmt)

    async def remove(self, conn: AsyncConnection, owner: int, peer: int,
                     state: str | None = None) -> bool:
        stmt = contacts.delete().where(contacts.c.owner_id == owner, contacts.c.peer_id == peer)
        if state is not None:
            stmt = stmt.where(contacts.c.state == state)
        return bool((await conn.execute(stmt)).rowcount)

    async def listed(self, conn: AsyncConnection, owner: int, state: str, limit: int
                     ) -> list[tuple[str, int]]:
        """``(peer username, since)`` of the owner's rows in ``state``, oldest first."""
        rows = await conn.execute(
            sa.select(users.c.username, contacts.c.changed_at)
            .join(users, users.c.id == contacts.c.peer_id)
            .where(contacts.c.owner_id == owner, contacts.c.state == state,
                   users.c.deleted_at.is_(None))
            .order_by(contacts.c.changed_at, users.c.username).limit(limit))
        return [(str(r[0]), int(r[1])) for r in rows]

    async def count(self, conn: AsyncConnection, owner: int, state: str) -> int:
        result = await conn.execute(sa.select(sa.func.count()).select_from(contacts).where(
            contacts.c.owner_id == owner, contacts.c.state == state))
        return int(result.scalar_one())

    async def blockers(self, conn: AsyncConnection, peer: int, owners: Sequence[int]
                       ) -> set[int]:
        """Which of ``owners`` have blocked ``peer``."""
        if not owners:
            return set()
        rows = await conn.execute(sa.select(contacts.c.owner_id).where(
            contacts.c.peer_id == peer, contacts.c.state == BLOCKED,
            contacts.c.owner_id.in_(list(owners))))
        return {int(r[0]) for r in rows}

    async def share_group(self, conn: AsyncConnection, a: int, b: int) -> bool:
        """Both are members of one group (joined, so both accepted being there)."""
        row = (await conn.execute(_share_group_select(a, b))).first()
        return row is not None


def _pair_select(a: int, b: int) -> sa.Select[Any]:
    return sa.select(contacts.c.owner_id, contacts.c.state).where(
        sa.or_(sa.and_(contacts.c.owner_id == a, contacts.c.peer_id == b),
               sa.and_(contacts.c.owner_id == b, contacts.c.peer_id == a)))


def _share_group_select(a: int, b: int) -> sa.Select[Any]:
    other = group_members.alias("other")
    return (sa.select(group_members.c.group_id)
            .join(other, other.c.group_id == group_members.c.group_id)
            .where(group_members.c.user_id == a, other.c.user_id == b).limit(1))


_SQLITE_PAIR = ("SELECT owner_id, state FROM contacts WHERE (owner_id = ? AND peer_id = ?) "
                "OR (owner_id = ? AND peer_id = ?)")
_SQLITE_SHARE_GROUP = ("SELECT mine.group_id FROM group_members AS mine JOIN group_members "
                       "AS other ON other.group_id = mine.group_id "
                       "WHERE mine.user_id = ? AND other.user_id = ? LIMIT 1")

"""Web console sessions, kept on the server (migration 0019).

A console login is not a device and holds no API token: the browser's cookie carries a
random session id, and this table keeps only its keyed hash (a copy of the database
does not let anyone in), the session's CSRF secret and the two times its timeouts are
measured from. Ending a session deletes its row; measures on the account (suspension,
password reset, deletion, a change of role) delete all of the account's rows in their
own transaction, through ``AccountStore``.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.storage.schema import metadata

console_sessions = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.BigInteger(), sa.ForeignKey("users.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    sa.Column("last_seen_at", sa.BigInteger(), nullable=False),
)


@dataclass(frozen=True, slots=True)
class ConsoleSessionRecord:
    id_hash: str
    user_id: int
    csrf: str
    created_at: int
    last_seen_at: int


_COLS = (console_sessions.c.id_hash, console_sessions.c.user_id, console_sessions.c.csrf,
         console_sessions.c.created_at, console_sessions.c.last_seen_at)


class ConsoleSessionStore:
    async def create(self, conn: AsyncConnection, record: ConsoleSessionRecord) -> None:
        await conn.execute(console_sessions.insert().values(
            id_hash=record.id_hash, user_id=record.user_id, csrf=record.csrf,
            created_at=record.created_at, last_seen_at=record.last_seen_at))

    async def get(self, conn: AsyncConnection, id_hash: str) -> ConsoleSessionRecord | None:
        row = (await conn.execute(sa.select(*_COLS)
                                  .where(console_sessions.c.id_hash == id_hash))).first()
        return ConsoleSessionRecord(*row) if row else None

    async def touch(self, conn: AsyncConnection, id_hash: str, now: int) -> None:
        await conn.execute(console_sessions.update()
                           .where(console_sessions.c.id_hash == id_hash)
                           .values(last_seen_at=now))

    async def delete(self, conn: AsyncConnection, id_hash: str) -> None:
        await conn.execute(console_sessions.delete()
                           .where(console_sessions.c.id_hash == id_hash))

    async def count_for_user(self, conn: AsyncConnection, user_id: int) -> int:
        result = await conn.execute(sa.select(sa.func.count()).select_from(console_sessions)
                                    .where(console_sessions.c.user_id == user_id))
        return int(result.scalar_one())

    async def prune(self, conn: AsyncConnection, idle_before: int, created_before: int
                    ) -> int:
        """Drop sessions past either timeout (they are refused anyway; this keeps the
        table to the sessions that could still be used)."""
        result = await conn.execute(console_sessions.delete().where(sa.or_(
            console_sessions.c.last_seen_at < idle_before,
            console_sessions.c.created_at < created_before)))
        return int(result.rowcount or 0)


async def end_console_sessions(conn: AsyncConnection, user_id: int) -> None:
    """End every console session of the account, in the caller's transaction."""
    await conn.execute(console_sessions.delete().where(console_sessions.c.user_id == user_id))

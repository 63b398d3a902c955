"""The log of ended sessions (migration 0011): the record behind "close their sockets".

Every measure that ends a session (suspension, password reset, device removal, logout,
account deletion) writes a row here in the same transaction as the measure, through
``AccountStore``. The live bus carries the same fact at once (``protocol/control.py``,
``SessionEnded``); this log is what makes it exact when the bus cannot: a measure taken
by the CLI in another process (``tidings admin set-password``), or a Redis outage. Each
server process reads the rows after the last id it saw twice a second
(``server/sessions.py``) and closes what they name. Rows are pruned after an hour.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.protocol.control import EndReason, SessionEnded
from tidings.storage.schema import metadata

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

session_ends = sa.Table(
    "session_ends",
    metadata,
    # AUTOINCREMENT on SQLite: readers poll "id > last seen", so an id must never be
    # reused after pruning empties the table.
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.BigInteger(), nullable=False),
    sa.Column("device_id", sa.String(64), nullable=True),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    sqlite_autoincrement=True,
)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


async def record_end(conn: AsyncConnection, user_id: int, device_id: str | None,
                     reason: EndReason, now: int | None = None) -> SessionEnded:
    """Log that a session ended, inside the measure's own transaction."""
    at = _now_ms() if now is None else now
    await conn.execute(session_ends.insert().values(
        user_id=user_id, device_id=device_id, reason=reason.value, created_at=at))
    return SessionEnded(user_id, device_id, reason, at)


class SessionEndStore:
    async def head(self, conn: AsyncConnection) -> int:
        """The last id written (0 for none): a process starts reading after it."""
        result = await conn.execute(sa.select(sa.func.max(session_ends.c.id)))
        return int(result.scalar_one() or 0)

    async def after(self, conn: AsyncConnection, last_id: int, since: int, limit: int
                    ) -> list[tuple[int, SessionEnded]]:
        """Rows after ``last_id``, and every row written since ``since`` (ms): ids are
        not given out in commit order, so a row can appear behind one already read."""
        rows = await conn.execute(
            sa.select(session_ends.c.id, session_ends.c.user_id, session_ends.c.device_id,
                      session_ends.c.reason, session_ends.c.created_at)
            .where(sa.or_(session_ends.c.id > last_id, session_ends.c.created_at >= since))
            .order_by(session_ends.c.id).limit(limit))
        out = []
        for row_id, user_id, device_id, reason, created_at in rows:
            try:
                why = EndReason(reason)
            except ValueError:  # written by a newer version: still close the sessions
                why = EndReason.LOGGED_OUT
            out.append((int(row_id), SessionEnded(int(user_id), device_id, why,
                                                  int(created_at))))
        return out

    async def prune(self, conn: AsyncConnection, before: int) -> int:
        result = await conn.execute(session_ends.delete()
                                    .where(session_ends.c.created_at < before))
        return int(result.rowcount or 0)

"""SQL for partner-signal safety: recent matches per bank entry (the quarantine's
window) and "no violation" decisions recorded against the entries that matched.

Every method runs inside a transaction the caller owns.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.storage.schema import entry_feedback, entry_hits


class EntrySafetyStore:
    async def add_hits(self, conn: AsyncConnection,
                       hits: Sequence[tuple[int, str, int | None]], now: int) -> None:
        """Record ``(entry_id, item, uploader)`` matches at ``now``."""
        if hits:
            await conn.execute(entry_hits.insert(), [
                {"entry_id": e, "item": item, "uploader": who, "at": now}
                for e, item, who in hits])

    async def prune_hits(self, conn: AsyncConnection, entry_ids: Sequence[int],
                         before: int) -> None:
        """Forget matches older than the window (only the window is ever counted)."""
        if entry_ids:
            await conn.execute(entry_hits.delete().where(
                entry_hits.c.entry_id.in_(list(entry_ids)), entry_hits.c.at < before))

    async def window(self, conn: AsyncConnection, entry_id: int,
                     since: int) -> tuple[int, int]:
        """(distinct items, distinct uploaders) that matched the entry since ``since``."""
        row = (await conn.execute(
            sa.select(sa.func.count(sa.distinct(entry_hits.c.item)),
                      sa.func.count(sa.distinct(entry_hits.c.uploader)))
            .where(entry_hits.c.entry_id == entry_id, entry_hits.c.at >= since))).one()
        return int(row[0]), int(row[1])

    async def add_feedback(self, conn: AsyncConnection, entry_id: int, case_id: str,
                           now: int) -> None:
        """Record one "no violation" decision (once per case and entry)."""
        exists = (await conn.execute(sa.select(entry_feedback.c.at).where(
            entry_feedback.c.entry_id == entry_id,
            entry_feedback.c.case_id == case_id))).first()
        if exists is None:
            await conn.execute(entry_feedback.insert().values(
                entry_id=entry_id, case_id=case_id, at=now))

    async def feedback(self, conn: AsyncConnection, entry_id: int) -> list[str]:
        """The cases decided "no violation" on a match of this entry, oldest first."""
        rows = await conn.execute(
            sa.select(entry_feedback.c.case_id).where(entry_feedback.c.entry_id == entry_id)
            .order_by(entry_feedback.c.at, entry_feedback.c.case_id))
        return [str(r[0]) for r in rows]

    async def forget(self, conn: AsyncConnection, entry_id: int) -> None:
        """A moderator judged the entry: its window and feedback start again (the audit
        record of the decision keeps the case ids)."""
        await conn.execute(entry_hits.delete().where(entry_hits.c.entry_id == entry_id))
        await conn.execute(entry_feedback.delete().where(
            entry_feedback.c.entry_id == entry_id))

"""SQL store of preserved items (TCO Art. 6) and the media blobs each one keeps.

A preserved item's ``record`` is JSON: the removed content and related data as they
were at removal. Blob bytes live in a separate blob store (never served by the public
media route); ``preserved_blobs`` says which item keeps which blob, so a blob shared by
two items is deleted only when the last one is purged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.storage.channel_schema import channels, post_media, profiles
from tidings.storage.order_schema import preservations, preserved_blobs


@dataclass(frozen=True, slots=True)
class PreservedRow:
    id: str
    target_kind: str
    target_ref: str
    cause: str
    order_id: str | None
    case_id: str | None
    authority_user_id: int | None
    record: str
    created_ms: int
    expires_ms: int
    extensions: int
    restored_ms: int | None
    purged_ms: int | None


_COLS = [preservations.c[f.name] for f in fields(PreservedRow)]


class PreservationStore:
    async def insert(self, conn: AsyncConnection, row: PreservedRow,
                     blobs: Sequence[tuple[str, int]]) -> None:
        await conn.execute(preservations.insert().values(**asdict(row)))
        if blobs:
            await conn.execute(preserved_blobs.insert(), [
                {"preservation_id": row.id, "sha256": sha, "size": size} for sha, size in blobs])

    async def get(self, conn: AsyncConnection, item_id: str) -> PreservedRow | None:
        row = (await conn.execute(sa.select(*_COLS).where(preservations.c.id == item_id))
               ).first()
        return PreservedRow(*row) if row else None

    async def of_target(self, conn: AsyncConnection, kind: str, ref: str,
                        live_only: bool = True) -> list[PreservedRow]:
        query = sa.select(*_COLS).where(preservations.c.target_kind == kind,
                                        preservations.c.target_ref == ref)
        if live_only:
            query = query.where(preservations.c.purged_ms.is_(None))
        return [PreservedRow(*r) for r in await conn.execute(
            query.order_by(preservations.c.created_ms))]

    async def of_order(self, conn: AsyncConnection, order_id: str) -> list[PreservedRow]:
        rows = await conn.execute(sa.select(*_COLS).where(preservations.c.order_id == order_id)
                                  .order_by(preservations.c.created_ms))
        return [PreservedRow(*r) for r in rows]

    async def items(self, conn: AsyncConnection, *, authority_user_id: int | None,
                   limit: int) -> list[PreservedRow]:
        query = sa.select(*_COLS)
        if authority_user_id is not None:
            query = query.where(preservations.c.authority_user_id == authority_user_id)
        return [PreservedRow(*r) for r in await conn.execute(
            query.order_by(preservations.c.created_ms.desc()).limit(limit))]

    async def update(self, conn: AsyncConnection, item_id: str, **values: Any) -> None:
        await conn.execute(preservations.update().where(preservations.c.id == item_id)
                           .values(**values))

    async def blobs(self, conn: AsyncConnection, item_id: str) -> list[tuple[str, int]]:
        rows = await conn.execute(sa.select(preserved_blobs.c.sha256, preserved_blobs.c.size)
                                  .where(preserved_blobs.c.preservation_id == item_id)
                                  .order_by(preserved_blobs.c.sha256))
        return [(str(r[0]), int(r[1])) for r in rows]

    async def purge(self, conn: AsyncConnection, item_id: str, now: int) -> list[str]:
        """Mark the item purged, drop its record and blob rows; returns the blob ids no
        other live item keeps (the caller deletes those files)."""
        mine = [sha for sha, _ in await self.blobs(conn, item_id)]
        await conn.execute(preserved_blobs.delete().where(
            preserved_blobs.c.preservation_id == item_id))
        await conn.execute(preservations.update().where(preservations.c.id == item_id)
                           .values(purged_ms=now, record="{}"))
        if not mine:
            return []
        still = await conn.execute(sa.select(preserved_blobs.c.sha256).where(
            preserved_blobs.c.sha256.in_(mine)))
        kept = {str(r[0]) for r in still}
        return [sha for sha in mine if sha not in kept]

    async def publicly_used(self, conn: AsyncConnection, shas: Sequence[str],
                            except_post_ids: Sequence[int]) -> set[str]:
        """Which of ``shas`` a post other than ``except_post_ids``, a channel avatar or a
        profile avatar still names (those stay downloadable)."""
        if not shas:
            return set()
        found: set[str] = set()
        for query in (
                sa.select(post_media.c.sha256).where(
                    post_media.c.sha256.in_(list(shas)),
                    post_media.c.post_id.not_in(list(except_post_ids) or [0])),
                sa.select(channels.c.avatar_sha256).where(channels.c.avatar_sha256.in_(
                    list(shas))),
                sa.select(profiles.c.avatar_sha256).where(profiles.c.avatar_sha256.in_(
                    list(shas)))):
            found.update(str(r[0]) for r in await conn.execute(query))
        return found

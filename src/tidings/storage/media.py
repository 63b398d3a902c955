"""SQL store of uploaded media and profiles, and what garbage collection asks of it.

A media row describes a blob (and its thumbnail blob) that someone uploaded. A blob
is *referenced* while a post, a channel avatar or a profile avatar names it; the
collector deletes unreferenced media rows and files once they are older than the
grace period (``limits.BLOB_GC_GRACE_S``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.storage.channel_schema import channels, media, post_media, profiles
from tidings.storage.channels import _insert
from tidings.storage.schema import users


@dataclass(frozen=True, slots=True)
class MediaRecord:
    sha256: str
    kind: str
    media_type: str
    size: int
    width: int | None
    height: int | None
    thumb_sha256: str | None
    uploader_id: int | None
    created_at: int


@dataclass(frozen=True, slots=True)
class ProfileRecord:
    user_id: int
    username: str
    display_name: str | None
    avatar_sha256: str | None
    state: str


_COLS = [media.c[f.name] for f in fields(MediaRecord)]


class MediaStore:
    async def add(self, conn: AsyncConnection, record: MediaRecord) -> None:
        """Record an upload; the same bytes uploaded twice keep their first row."""
        values = {f.name: getattr(record, f.name) for f in fields(MediaRecord)}
        await conn.execute(_insert(conn, media).values(**values).on_conflict_do_nothing())

    async def get(self, conn: AsyncConnection, sha256: str) -> MediaRecord | None:
        row = (await conn.execute(sa.select(*_COLS).where(media.c.sha256 == sha256))).first()
        return MediaRecord(*row) if row else None

    async def get_many(self, conn: AsyncConnection,
                       ids: Sequence[str]) -> dict[str, MediaRecord]:
        if not ids:
            return {}
        rows = await conn.execute(sa.select(*_COLS).where(media.c.sha256.in_(list(ids))))
        return {r[0]: MediaRecord(*r) for r in rows}

    async def served_type(self, conn: AsyncConnection, sha256: str) -> tuple[str, str] | None:
        """(media type, kind) to serve a blob as: a media row's, or its thumbnail's."""
        row = (await conn.execute(sa.select(media.c.media_type, media.c.kind)
                                  .where(media.c.sha256 == sha256))).first()
        if row:
            return str(row[0]), str(row[1])
        row = (await conn.execute(sa.select(media.c.media_type)
                                  .where(media.c.thumb_sha256 == sha256).limit(1))).first()
        if row:
            return ("image/png" if str(row[0]) == "image/png" else "image/jpeg"), "photo"
        return None

    # --- garbage collection ---------------------------------------------------------
    async def referenced(self, conn: AsyncConnection) -> set[str]:
        """Every blob id something still points at, thumbnails included."""
        direct: set[str] = set()
        for query in (sa.select(post_media.c.sha256),
                      sa.select(channels.c.avatar_sha256).where(
                          channels.c.avatar_sha256.is_not(None)),
                      sa.select(profiles.c.avatar_sha256).where(
                          profiles.c.avatar_sha256.is_not(None))):
            direct.update(str(r[0]) for r in await conn.execute(query))
        thumbs = await conn.execute(sa.select(media.c.thumb_sha256).where(
            media.c.sha256.in_(sa.union(sa.select(post_media.c.sha256),
                                        sa.select(channels.c.avatar_sha256),
                                        sa.select(profiles.c.avatar_sha256))),
            media.c.thumb_sha256.is_not(None)))
        direct.update(str(r[0]) for r in thumbs)
        return direct

    async def forget(self, conn: AsyncConnection, ids: Sequence[str]) -> None:
        if ids:
            await conn.execute(media.delete().where(media.c.sha256.in_(list(ids))))

    # --- profiles -------------------------------------------------------------------
    async def profile(self, conn: AsyncConnection, user_id: int) -> ProfileRecord | None:
        row = (await conn.execute(
            sa.select(users.c.id, users.c.username, users.c.display_name,
                      profiles.c.avatar_sha256, sa.func.coalesce(profiles.c.state, "visible"))
            .select_from(users.outerjoin(profiles, profiles.c.user_id == users.c.id))
            .where(users.c.id == user_id))).first()
        return ProfileRecord(int(row[0]), row[1], row[2], row[3], row[4]) if row else None

    async def set_profile(self, conn: AsyncConnection, user_id: int, *,
                          display_name: str | None, avatar_sha256: str | None,
                          state: str) -> None:
        await conn.execute(users.update().where(users.c.id == user_id)
                           .values(display_name=display_name))
        values = {"avatar_sha256": avatar_sha256, "state": state}
        await conn.execute(_insert(conn, profiles).values(user_id=user_id, **values)
                           .on_conflict_do_update(index_elements=["user_id"], set_=values))

"""SQL store of uploaded media and profiles, and what garbage collection asks of it.

A media row describes a blob (and its thumbnail blob) that someone uploaded. A blob
is *referenced* while a post, a channel avatar or a profile avatar names it; the
collector deletes unreferenced media rows and files once they are older than the
grace period (``limits.BLOB_GC_GRACE_S``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.moderation.media_signals import MediaSignal
from tidings.storage.channel_schema import (
    channel_posts,
    channels,
    media,
    media_signals,
    media_uploads,
    post_media,
    profiles,
)
from tidings.storage.channels import _insert, _insert_for
from tidings.storage.plan import Plan, Raw, marks, run_async
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
    withdrawn_at: int | None = None
    withdrawn_reason: str | None = None


@dataclass(frozen=True, slots=True)
class ProfileRecord:
    user_id: int
    username: str
    display_name: str | None
    avatar_sha256: str | None
    state: str


_COLS = [media.c[f.name] for f in fields(MediaRecord)]
# The upload's statements as SQLite text (storage/plan.py, Raw), same as the Core ones;
# the columns in MediaRecord's order (``astuple`` of a record binds them).
_MEDIA_NAMES = ", ".join(f.name for f in fields(MediaRecord))
_LITE_ADD = (f"INSERT INTO media ({_MEDIA_NAMES}) "  # noqa: S608
             f"VALUES ({marks(fields(MediaRecord))}) ON CONFLICT DO NOTHING")
_LITE_ADD_UPLOADER = ("INSERT INTO media_uploads (sha256, user_id, created_at) VALUES (?, ?, ?) "
                      "ON CONFLICT DO NOTHING")
_LITE_DROP_SIGNALS = "DELETE FROM media_signals WHERE sha256 = ?"
_LITE_ADD_SIGNAL = ("INSERT INTO media_signals (sha256, position, signal_type, value, source, "
                    "quality) VALUES (?, ?, ?, ?, ?, ?)")
_LITE_GET = f"SELECT {_MEDIA_NAMES} FROM media WHERE sha256 = ?"  # noqa: S608
_LITE_GET_MANY = f"SELECT {_MEDIA_NAMES} FROM media WHERE sha256 IN ({{marks}})"  # noqa: S608
_LITE_UPLOADED = "SELECT sha256 FROM media_uploads WHERE sha256 IN ({marks}) AND user_id = ?"
_LITE_UPLOADED_THUMBS = (
    "SELECT media.thumb_sha256 FROM media JOIN media_uploads "
    "ON media_uploads.sha256 = media.sha256 "
    "WHERE media.thumb_sha256 IN ({marks}) AND media_uploads.user_id = ?")
_LITE_SIGNALS = ("SELECT sha256, signal_type, value, source, quality FROM media_signals "
                 "WHERE sha256 IN ({marks}) ORDER BY sha256, position")
_LITE_WITHDRAWN = ("SELECT sha256 FROM media WHERE sha256 IN ({marks}) "
                   "AND withdrawn_at IS NOT NULL LIMIT 1")
_LITE_WITHDRAWN_VIA_SIGNALS = (
    "SELECT media.sha256 FROM media JOIN media_signals ON media_signals.sha256 = media.sha256 "
    "WHERE media.withdrawn_at IS NOT NULL AND media_signals.signal_type IN ('md5', 'sha256') "
    "AND media_signals.value IN ({marks}) LIMIT 1")


class MediaStore:
    async def get(self, conn: AsyncConnection, sha256: str) -> MediaRecord | None:
        row = (await conn.execute(sa.select(*_COLS).where(media.c.sha256 == sha256))).first()
        return MediaRecord(*row) if row else None

    async def get_many(self, conn: AsyncConnection,
                       ids: Sequence[str]) -> dict[str, MediaRecord]:
        return await run_async(conn, self.get_many_plan(ids))

    def get_many_plan(self, ids: Sequence[str], dialect: str = ""
                      ) -> Plan[dict[str, MediaRecord]]:
        if not ids:
            return {}
        if dialect == "sqlite":  # every post with media: prepared text (plan.Raw)
            found = yield Raw(_LITE_GET_MANY.format(marks=marks(ids)), list(ids))
            return {r[0]: MediaRecord(*r) for r in found}
        rows = yield sa.select(*_COLS).where(media.c.sha256.in_(list(ids)))
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

    # --- uploaders, signals, withdrawal (migration 0011) -----------------------------
    async def uploaded_by(self, conn: AsyncConnection, shas: Sequence[str],
                          user_id: int) -> set[str]:
        return await run_async(conn, self.uploaded_by_plan(shas, user_id))

    def uploaded_by_plan(self, shas: Sequence[str], user_id: int, dialect: str = ""
                         ) -> Plan[set[str]]:
        """Which of ``shas`` this user uploaded (a thumbnail counts as its photo's)."""
        if not shas:
            return set()
        if dialect == "sqlite":
            places, params = marks(shas), [*shas, user_id]
            own_rows = yield Raw(_LITE_UPLOADED.format(marks=places), params)
            thumb_rows = yield Raw(_LITE_UPLOADED_THUMBS.format(marks=places), params)
            return {str(r[0]) for r in own_rows} | {str(r[0]) for r in thumb_rows}
        mine = yield sa.select(media_uploads.c.sha256).where(
            media_uploads.c.sha256.in_(list(shas)), media_uploads.c.user_id == user_id)
        own = {str(r[0]) for r in mine}
        thumbs = yield (
            sa.select(media.c.thumb_sha256).select_from(media.join(
                media_uploads, media_uploads.c.sha256 == media.c.sha256))
            .where(media.c.thumb_sha256.in_(list(shas)), media_uploads.c.user_id == user_id))
        return own | {str(r[0]) for r in thumbs}

    async def set_signals(self, conn: AsyncConnection, sha256: str,
                          signals: Sequence[MediaSignal]) -> None:
        await run_async(conn, self.set_signals_plan(sha256, signals))

    def set_signals_plan(self, sha256: str, signals: Sequence[MediaSignal],
                         dialect: str = "") -> Plan[None]:
        """Store an upload's signals (replacing any: the same bytes give the same ones)."""
        if dialect == "sqlite":
            yield Raw(_LITE_DROP_SIGNALS, (sha256,))
            yield Raw(_LITE_ADD_SIGNAL, [(sha256, n, s.signal_type, s.value, s.source,
                                          s.quality) for n, s in enumerate(signals)],
                      many=True)
            return
        yield media_signals.delete().where(media_signals.c.sha256 == sha256)
        if signals:
            yield (media_signals.insert(), [
                {"sha256": sha256, "position": n, "signal_type": s.signal_type,
                 "value": s.value, "source": s.source, "quality": s.quality}
                for n, s in enumerate(signals)])

    async def signals(self, conn: AsyncConnection, shas: Sequence[str]
                      ) -> dict[str, list[MediaSignal]]:
        return await run_async(conn, self.signals_plan(shas))

    def signals_plan(self, shas: Sequence[str], dialect: str = ""
                     ) -> Plan[dict[str, list[MediaSignal]]]:
        """Stored signals by media id; an id without any (uploaded before 0011) is absent."""
        if not shas:
            return {}
        query = (Raw(_LITE_SIGNALS.format(marks=marks(shas)), list(shas)) if dialect == "sqlite"
                 else sa.select(media_signals.c.sha256, media_signals.c.signal_type,
                                media_signals.c.value, media_signals.c.source,
                                media_signals.c.quality)
                 .where(media_signals.c.sha256.in_(list(shas)))
                 .order_by(media_signals.c.sha256, media_signals.c.position))
        rows = yield query
        out: dict[str, list[MediaSignal]] = {}
        for sha, st, value, source, quality in rows:
            out.setdefault(str(sha), []).append(MediaSignal(st, value, source, quality))
        return out

    async def withdraw(self, conn: AsyncConnection, shas: Sequence[str], reason: str,
                       now: int) -> list[str]:
        """Mark media withdrawn (never served again); returns the ids newly withdrawn."""
        if not shas:
            return []
        fresh = [str(r[0]) for r in await conn.execute(
            sa.select(media.c.sha256).where(media.c.sha256.in_(list(shas)),
                                            media.c.withdrawn_at.is_(None)))]
        if fresh:
            await conn.execute(media.update().where(media.c.sha256.in_(fresh))
                               .values(withdrawn_at=now, withdrawn_reason=reason[:64]))
        return fresh

    def withdrawn_among_plan(self, values: Sequence[str], dialect: str = "") -> Plan[bool]:
        """Is any of these exact hashes (MD5 or SHA-256 hex) one of withdrawn media: its
        id, or a hash of the bytes it was uploaded as? (A plan: ``Database.read_plan``;
        on SQLite prepared text, ``plan.Raw``: every upload asks.)"""
        if not values:
            return False
        ids = list(values)
        if dialect == "sqlite":
            for sql in (_LITE_WITHDRAWN, _LITE_WITHDRAWN_VIA_SIGNALS):
                if (yield Raw(sql.format(marks=marks(ids)), ids)):
                    return True
            return False
        direct = sa.select(media.c.sha256).where(media.c.sha256.in_(ids),
                                                 media.c.withdrawn_at.is_not(None))
        via_signals = (sa.select(media.c.sha256)
                       .select_from(media.join(media_signals,
                                               media_signals.c.sha256 == media.c.sha256))
                       .where(media.c.withdrawn_at.is_not(None),
                              media_signals.c.signal_type.in_(["md5", "sha256"]),
                              media_signals.c.value.in_(ids)))
        for query in (direct, via_signals):
            if (yield query.limit(1)).first() is not None:
                return True
        return False

    def remember_plan(self, record: MediaRecord, uploader: int,
                      signals: Sequence[MediaSignal], dialect: str) -> Plan[MediaRecord | None]:
        """An accepted upload in one transaction (``Database.write_plan``): its row (the
        same bytes uploaded twice keep their first), its uploader, its signals; returns
        the row as stored. On SQLite prepared text (``plan.Raw``)."""
        if dialect == "sqlite":
            yield Raw(_LITE_ADD, astuple(record))
            yield Raw(_LITE_ADD_UPLOADER, (record.sha256, uploader, record.created_at))
            yield from self.set_signals_plan(record.sha256, signals, dialect)
            found = yield Raw(_LITE_GET, (record.sha256,))
            return MediaRecord(*found[0]) if found else None
        values = {f.name: getattr(record, f.name) for f in fields(MediaRecord)}
        yield _insert_for(dialect, media).values(**values).on_conflict_do_nothing()
        yield _insert_for(dialect, media_uploads).values(
            sha256=record.sha256, user_id=uploader, created_at=record.created_at
        ).on_conflict_do_nothing()
        yield from self.set_signals_plan(record.sha256, signals, dialect)
        row = (yield sa.select(*_COLS).where(media.c.sha256 == record.sha256)).first()
        return MediaRecord(*row) if row else None

    async def reinstate(self, conn: AsyncConnection, shas: Sequence[str]) -> None:
        """Undo a withdrawal (a removal reversed on appeal)."""
        if shas:
            await conn.execute(media.update().where(media.c.sha256.in_(list(shas)))
                               .values(withdrawn_at=None, withdrawn_reason=None))

    async def parents(self, conn: AsyncConnection, sha256: str) -> list[MediaRecord]:
        """The media row of this id, else the rows whose thumbnail it is."""
        row = await self.get(conn, sha256)
        if row is not None:
            return [row]
        rows = await conn.execute(sa.select(*_COLS).where(media.c.thumb_sha256 == sha256))
        return [MediaRecord(*r) for r in rows]

    async def publicly_used(self, conn: AsyncConnection, shas: Sequence[str]) -> bool:
        return await run_async(conn, self.publicly_used_plan(shas))

    def publicly_used_plan(self, shas: Sequence[str]) -> Plan[bool]:
        """True while a visible public object uses one of these media ids: a visible,
        undeleted post in a visible channel, a visible channel's picture, or the
        visible profile picture of an account that is not deleted."""
        if not shas:
            return False
        ids = list(shas)
        post_q = (sa.select(post_media.c.post_id)
                  .select_from(post_media.join(channel_posts,
                                               channel_posts.c.id == post_media.c.post_id)
                               .join(channels, channels.c.id == channel_posts.c.channel_id))
                  .where(post_media.c.sha256.in_(ids), channel_posts.c.state == "visible",
                         channel_posts.c.deleted_at.is_(None), channels.c.state == "visible",
                         *_undeleted(channels)).limit(1))
        avatar_q = (sa.select(channels.c.id)
                    .where(channels.c.avatar_sha256.in_(ids), channels.c.state == "visible",
                           *_undeleted(channels)).limit(1))
        profile_q = (sa.select(profiles.c.user_id)
                     .select_from(profiles.join(users, users.c.id == profiles.c.user_id))
                     .where(profiles.c.avatar_sha256.in_(ids), profiles.c.state == "visible",
                            users.c.deleted_at.is_(None)).limit(1))
        for query in (post_q, avatar_q, profile_q):
            if (yield query).first() is not None:
                return True
        return False

    async def ever_used(self, conn: AsyncConnection, shas: Sequence[str]) -> bool:
        """True if any post (in any state) names one of these ids: it was published or
        held once, so a refusal now is "gone" (410), not "never existed" (404)."""
        if not shas:
            return False
        return (await conn.execute(sa.select(post_media.c.post_id).where(
            post_media.c.sha256.in_(list(shas))).limit(1))).first() is not None

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
        """Delete collected media rows, with their uploaders and signals. A withdrawn
        row is kept (without its bytes): it is what keeps a re-upload blocked."""
        if ids:
            await conn.execute(media.delete().where(media.c.sha256.in_(list(ids)),
                                                    media.c.withdrawn_at.is_(None)))
            await conn.execute(media_uploads.delete().where(
                media_uploads.c.sha256.in_(list(ids))))
            await conn.execute(media_signals.delete().where(
                media_signals.c.sha256.in_(list(ids)), ~media_signals.c.sha256.in_(
                    sa.select(media.c.sha256))))

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


def _undeleted(table: sa.Table) -> list[sa.ColumnElement[bool]]:
    """``deleted_at IS NULL`` where the table has it (soft-deleted channels)."""
    return [table.c.deleted_at.is_(None)] if "deleted_at" in table.c else []

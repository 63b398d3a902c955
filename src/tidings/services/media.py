"""Uploads of public media: stream to disk, learn the real type, clean photos, GC.

An upload is read in chunks straight into a temp file with a hard byte limit, so a
200 MB video never sits in memory and a lying Content-Length cannot make us read more.
The type comes from the first bytes (``imaging.sniff``), never from the client; once
it is known the limit tightens to that kind's (10 MiB for photos). Photos are then
decoded with the pixel limit, re-encoded without metadata and thumbnailed; only the
cleaned bytes are stored and served. Everything else is stored as uploaded.

A stored blob is named by its SHA-256: the media id the client puts in posts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from tidings.moderation import MediaContent, Signal
from tidings.moderation.errors import VideoRefusedError
from tidings.moderation.limits import MAX_MEDIA_BYTES
from tidings.moderation.video import video_signals
from tidings.protocol import limits
from tidings.protocol.errors import BadRequest, PayloadTooLarge, Unprocessable
from tidings.services import imaging
from tidings.services.accounts import Principal
from tidings.services.clock import Clock
from tidings.storage.blobs import BlobIdError, BlobStore, BlobTooLargeError, check_id
from tidings.storage.database import Database
from tidings.storage.media import MediaRecord, MediaStore

SNIFF_BYTES = 64
"""Bytes needed before the type is known and the kind's own limit applies."""


def media_url(sha256: str) -> str:
    return f"/media/{sha256}"


def descriptor(record: MediaRecord) -> dict[str, Any]:
    """How a post or avatar describes one media item (stored once, sent as is)."""
    return {"sha256": record.sha256, "kind": record.kind, "media_type": record.media_type,
            "size": record.size, "width": record.width, "height": record.height,
            "url": media_url(record.sha256),
            "thumbnail_url": media_url(record.thumb_sha256) if record.thumb_sha256 else None}


def check_video(data: bytes) -> list[Signal]:
    """The gate's signals of a video (vpdq and its frames' PDQ queries), or a
    refusal (422, with the reason's code) of a video the gate could not hash:
    undecodable, unsupported, too long or too costly (``moderation.vpdq``).
    CPU-bound (the fast decode): called in a thread. The signals are not stored
    yet, so the publish gate decodes the video again (docs/decisions.md: they
    belong with the media record)."""
    try:
        return video_signals(data)
    except VideoRefusedError as exc:
        raise Unprocessable(str(exc), exc.code) from exc


@dataclass(frozen=True, slots=True)
class GcResult:
    blobs_removed: int
    bytes_removed: int
    rows_removed: int


class MediaService:
    def __init__(self, db: Database, store: MediaStore, blobs: BlobStore, clock: Clock) -> None:
        self.db = db
        self.store = store
        self.blobs = blobs
        self.clock = clock

    async def upload(self, who: Principal, chunks: AsyncIterator[bytes]) -> MediaRecord:
        writer = self.blobs.writer(limits.MAX_UPLOAD_BYTES)
        kind: imaging.MediaKind | None = None
        try:
            async for chunk in chunks:
                writer.write(chunk)
                if kind is None and len(writer.head) >= SNIFF_BYTES:
                    kind = imaging.sniff(writer.head)
                    writer.limit = imaging.limit_for(kind.kind)
            if writer.size == 0:
                raise BadRequest("the upload is empty", "empty_upload")
            kind = kind or imaging.sniff(writer.head)
            imaging.check_size(kind.kind, writer.size)
            if kind.kind == "photo":
                return await self._photo(who, writer.read_all())
            if kind.kind == "video":
                await asyncio.to_thread(check_video, writer.read_all())
            sha = await asyncio.to_thread(writer.commit)
        except BlobTooLargeError as exc:
            kind_name = kind.kind if kind else "upload"
            raise PayloadTooLarge(f"{kind_name} exceeds {writer.limit} bytes",
                                  "media_too_large") from exc
        finally:
            writer.abort()
        record = MediaRecord(sha, kind.kind, kind.media_type, writer.size, None, None, None,
                             who.user_id, self.clock())
        return await self._remember(record)

    async def _photo(self, who: Principal, data: bytes) -> MediaRecord:
        photo = await asyncio.to_thread(imaging.process_photo, data)
        sha = await asyncio.to_thread(self.blobs.put, photo.data)
        thumb = await asyncio.to_thread(self.blobs.put, photo.thumbnail)
        record = MediaRecord(sha, "photo", photo.media_type, len(photo.data), photo.width,
                             photo.height, thumb, who.user_id, self.clock())
        return await self._remember(record)

    async def _remember(self, record: MediaRecord) -> MediaRecord:
        async with self.db.write() as conn:
            await self.store.add(conn, record)
            stored = await self.store.get(conn, record.sha256)
        return stored or record

    async def resolve(self, ids: Sequence[str], *, photos_only: bool = False
                      ) -> tuple[list[dict[str, Any]], list[MediaContent]]:
        """Descriptors and moderation contents for media ids named in a post or avatar."""
        try:
            wanted = [check_id(i) for i in dict.fromkeys(ids)]
        except BlobIdError as exc:
            raise BadRequest(str(exc), exc.code) from exc
        async with self.db.read() as conn:
            found = await self.store.get_many(conn, wanted)
        missing = [i for i in wanted if i not in found or not self.blobs.exists(i)]
        if missing:
            raise BadRequest(f"unknown media id {missing[0]}; upload it first", "unknown_media")
        records = [found[i] for i in wanted]
        if photos_only and any(r.kind != "photo" for r in records):
            raise BadRequest("an avatar must be a photo", "avatar_not_photo")
        contents = []
        for r in records:
            if r.size <= MAX_MEDIA_BYTES:  # larger videos: hashed by name only (see docs)
                data = await asyncio.to_thread(self.blobs.read, r.sha256)
                contents.append(MediaContent(data, r.media_type))
        return [descriptor(r) for r in records], contents

    async def served_type(self, sha256: str) -> tuple[str, str] | None:
        async with self.db.read() as conn:
            return await self.store.served_type(conn, sha256)

    async def gc(self, grace_s: float = limits.BLOB_GC_GRACE_S) -> GcResult:
        """Delete blobs and media rows nothing references, older than the grace period.

        The grace period protects uploads whose post is still being written: a client
        uploads first and posts second, and the post must not find its media gone.
        """
        cutoff_s = time.time() - grace_s
        async with self.db.write() as conn:
            referenced = await self.store.referenced(conn)
            blobs = [b for b in await asyncio.to_thread(lambda: list(self.blobs.iter_blobs()))
                     if b.sha256 not in referenced and b.mtime < cutoff_s]
            for blob in blobs:
                self.blobs.delete(blob.sha256)
            rows = [b.sha256 for b in blobs]
            await self.store.forget(conn, rows)
        self.blobs.clean_temp(grace_s)
        return GcResult(len(blobs), sum(b.size for b in blobs), len(rows))

"""Uploads of public media: stream to disk, learn the real type, clean, hash once, gate, serve.

An upload is read in chunks straight into a temp file with a hard byte limit, so a
200 MB video never sits in memory and a lying Content-Length cannot make us read more.
The type comes from the first bytes (``imaging.sniff``), never from the client; once
it is known the limit tightens to that kind's (10 MiB for photos). Photos are then
decoded with the pixel limit, re-encoded without metadata and thumbnailed; only the
cleaned bytes are stored and served. Everything else is stored as uploaded.

**Signals once, at upload** (docs/decisions.md, "Media pipeline"): exact hashes of the
bytes as uploaded (taken while streaming) and as stored, and PDQ of the decoded picture
(``moderation/media_signals.py``), computed in a worker thread and stored with the media
record. The upload passes the moderation engine on the ``media`` surface: a reject
refuses it (nothing is stored), a hold keeps it private. The publish gate, the serving
check and auto-banking reuse the stored signals and never decode the media again.

**Private until cleared**: an upload belongs to its uploader(s). ``/media/{sha256}`` is
public only while a visible public object (a visible post in a visible channel, a
visible channel's picture, a visible profile picture) uses it, and never once the media
was withdrawn by a removal or matches a bank that rejects it. Before that the uploader
previews it through a short-lived signed URL (:meth:`MediaService.preview_url`). A post
or avatar may only use media its author uploaded or that is public already.

A stored blob is named by its SHA-256: the media id the client puts in posts.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import time
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from tidings.moderation import Signal
from tidings.moderation import media_signals as ms
from tidings.moderation.engine import Actor, Surface, Verdict
from tidings.moderation.errors import VideoRefusedError
from tidings.moderation.video import FRAME_PDQ, VPDQ_PLAIN, VPDQ_TRIMMED, gate_signals
from tidings.protocol import limits
from tidings.protocol.errors import BadRequest, NotFound, PayloadTooLarge, Unprocessable
from tidings.services import hash_workers, imaging
from tidings.services.accounts import Principal
from tidings.services.clock import Clock
from tidings.services.media_hashing import exact_signals, legacy_signals, pdq_signals
from tidings.services.moderation import HELD, ModerationService, gate_decision
from tidings.storage.blobs import (
    BlobIdError,
    BlobStore,
    BlobTooLargeError,
    BlobWriter,
    check_id,
)
from tidings.storage.database import Database
from tidings.storage.media import MediaRecord, MediaStore
from tidings.storage.plan import Plan

SNIFF_BYTES = 64
"""Bytes needed before the type is known and the kind's own limit applies."""
PREVIEW_KEY_LABEL = b"tidings/media-preview/v1"
"""HMAC label: the preview key is derived from the server's cookie secret with it."""


class MediaWithdrawn(Unprocessable):
    """Media a removal withdrew: it is never used, uploaded or served again (422 to an
    upload or a post naming it; ``GET /media/{id}`` answers 410)."""

    default_code = "media_withdrawn"


def media_url(sha256: str) -> str:
    return f"/media/{sha256}"


def descriptor(record: MediaRecord) -> dict[str, Any]:
    """How a post or avatar describes one media item (stored once, sent as is)."""
    return {"sha256": record.sha256, "kind": record.kind, "media_type": record.media_type,
            "size": record.size, "width": record.width, "height": record.height,
            "url": media_url(record.sha256),
            "thumbnail_url": media_url(record.thumb_sha256) if record.thumb_sha256 else None}


def preview_key(cookie_secret: bytes) -> bytes:
    return hmac.new(cookie_secret, PREVIEW_KEY_LABEL, hashlib.sha256).digest()


def check_video(data: bytes) -> list[ms.MediaSignal]:
    """The gate's signals of a video (vpdq; vpdq of its frames with their bars
    trimmed, query-only; its frames' PDQ queries), or a refusal (422, with the
    reason's code) of a video the gate could not hash: undecodable, unsupported,
    too long or too costly (``moderation.vpdq``). CPU-bound (the fast decode):
    called in a thread once, at upload; the signals are stored with the media
    record and the publish gate reuses them."""
    try:
        found = gate_signals(data)
    except VideoRefusedError as exc:
        raise Unprocessable(str(exc), exc.code) from exc
    return [ms.MediaSignal(s.signal_type, s.value, _VIDEO_SOURCES[name], s.quality)
            for name, s in found]


_VIDEO_SOURCES = {VPDQ_PLAIN: ms.SOURCE_PIXELS, VPDQ_TRIMMED: ms.QUERY_PREFIX + "trim",
                  FRAME_PDQ: ms.FRAME_PREFIX + "video"}


@dataclass(frozen=True, slots=True)
class GcResult:
    blobs_removed: int
    bytes_removed: int
    rows_removed: int


@dataclass(frozen=True, slots=True)
class Uploaded:
    """An accepted upload: its record, the gate's verdict on it and its signals."""

    record: MediaRecord
    state: str
    signals: tuple[ms.MediaSignal, ...]


class Access(StrEnum):
    PUBLIC = "public"
    PREVIEW = "preview"
    NOT_FOUND = "not_found"
    GONE = "gone"


@dataclass(frozen=True, slots=True)
class Availability:
    """What ``/media/{id}`` may answer: the access, and what to serve when it may."""

    access: Access
    media_type: str = "application/octet-stream"
    kind: str = "file"
    path: Path | None = None


@dataclass(frozen=True, slots=True)
class Preview:
    """The query of a signed preview URL (``?u=&exp=&sig=``), as received."""

    user_id: str
    expires: str
    sig: str


class MediaService:
    def __init__(self, db: Database, store: MediaStore, blobs: BlobStore, clock: Clock,
                 moderation: ModerationService | None = None,
                 signing_key: bytes | None = None) -> None:
        self.db = db
        self.store = store
        self.blobs = blobs
        self.clock = clock
        self.moderation = moderation
        """The one engine: uploads pass it on the ``media`` surface (None: the CLI's GC)."""
        self.signing_key = signing_key or b""

    # --- upload ---------------------------------------------------------------------
    async def upload(self, who: Principal, chunks: AsyncIterator[bytes]) -> Uploaded:
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
            md5, sha = writer.digests()
            if kind.kind == "photo":
                return await self._photo(who, writer.read_all(), md5, sha)
            prepared = ms.PreparedMedia(kind.kind, kind.media_type, md5, sha, md5, sha)
            signals = ms.media_signals(prepared)
            if kind.kind == "video":  # vpdq and its frames' PDQ queries, stored once
                found = await asyncio.to_thread(check_video, writer.read_all())
                signals = (*signals, *found)
            state = await self._check(who, sha, signals)
            await asyncio.to_thread(writer.commit)
        except BlobTooLargeError as exc:
            kind_name = kind.kind if kind else "upload"
            raise PayloadTooLarge(f"{kind_name} exceeds {writer.limit} bytes",
                                  "media_too_large") from exc
        finally:
            writer.abort()
        record = MediaRecord(sha, kind.kind, kind.media_type, writer.size, None, None, None,
                             who.user_id, self.clock())
        return await self._remember(who, record, signals, state)

    async def _photo(self, who: Principal, data: bytes, md5: str, sha: str) -> Uploaded:
        loop = asyncio.get_running_loop()
        jobs: list[hash_workers.Job | None] = []  # the PDQ hashes, in a worker process
        staged: list[asyncio.Future[BlobWriter]] = []

        def encoded(cleaned: bytes) -> None:  # in the thread, before the thumbnail
            loop.call_soon_threadsafe(lambda: staged.append(
                asyncio.ensure_future(asyncio.to_thread(self.blobs.stage, cleaned))))

        # The cleaned photo is written to a temp file and fsynced (hashing it as it is
        # written) while the thread makes the thumbnail, and the PDQ hashes are
        # computed in worker processes meanwhile; the blobs are installed under their
        # names only once the gate let the upload in, and the media row is committed
        # only after that.
        try:
            photo = await asyncio.to_thread(
                imaging.process_photo, data,
                lambda reduced: jobs.append(hash_workers.submit(reduced)), encoded)
        except BaseException:
            await _abort_all(staged)
            raise
        if not staged:  # (the thread's call_soon_threadsafe runs before this wakes)
            staged.append(asyncio.ensure_future(asyncio.to_thread(self.blobs.stage,
                                                                  photo.data)))
        staged.append(asyncio.ensure_future(asyncio.to_thread(self.blobs.stage,
                                                              photo.thumbnail)))
        found: tuple[ms.MediaSignal, ...] | None = None
        try:
            job = jobs[0] if jobs else None
            variants = await hash_workers.hashes(job) if job is not None else None
            found = (pdq_signals(photo, data, variants) if variants is not None
                     else await asyncio.to_thread(pdq_signals, photo, data))
        finally:
            if found is None:
                await _abort_all(staged)
        writers = await _all_staged(staged)
        try:
            cleaned, thumb = writers
            signals = (*exact_signals(md5, sha, *cleaned.digests()), *found)
            # The cleaned bytes can equal the upload (a GIF Pillow wrote, re-saved by
            # Pillow): its hash is then kept once, under the upload's source.
            stored_sha = next((s.value for s in signals if s.signal_type == "sha256"
                               and s.source == ms.SOURCE_STORED), sha)
            state = await self._check(who, stored_sha, signals)
            frame = (self._matched_frame(signals) if state == HELD and photo.animated
                     else None)
            if frame is not None:  # moderators review the frame that matched
                thumbnail = await asyncio.to_thread(imaging.frame_thumbnail, data, frame,
                                                    limits.MEDIA_PDQ_FRAMES_MAX)
                thumb.abort()
                thumb = writers[1] = await asyncio.to_thread(self.blobs.stage, thumbnail)
            # Both installed at once (each renames its file and fsyncs its directory).
            stored, thumb_sha = await asyncio.gather(asyncio.to_thread(cleaned.commit),
                                                     asyncio.to_thread(thumb.commit))
        finally:
            for writer in writers:  # nothing left behind once installed or refused
                writer.abort()
        record = MediaRecord(stored, "photo", photo.media_type, len(photo.data), photo.width,
                             photo.height, thumb_sha, who.user_id, self.clock())
        return await self._remember(who, record, signals, state)

    def _matched_frame(self, signals: Sequence[ms.MediaSignal]) -> int | None:
        """The first hashed frame of an animation that the banks match, if any."""
        if self.moderation is None:
            return None
        for s in signals:
            if s.source.startswith(ms.FRAME_PREFIX) and s.matchable:
                verdict = self.moderation.decide(Surface.MEDIA, [s.signal()]).verdict
                if verdict not in (Verdict.ALLOW, Verdict.ALLOW_AND_FLAG):
                    return int(s.source.removeprefix(ms.FRAME_PREFIX))
        return None

    async def _check(self, who: Principal, stored_sha: str,
                     signals: Sequence[ms.MediaSignal]) -> str:
        """The engine on the ``media`` surface, then the withdrawal list: a reject
        refuses the upload (422, with its reasons), re-uploading withdrawn media is
        refused (422); a hold is returned (the upload stays private)."""
        moderation = self.moderation

        async def gate() -> str:
            if moderation is None:
                return "visible"
            state, _ = await gate_decision(moderation, Surface.MEDIA, [],
                                           Actor(who.user_id), ms.matchable(signals))
            return state

        # The withdrawal list is read (another thread) while the engine decides (this
        # one); a reject still wins, as it did when they ran one after the other.
        exact = sorted({s.value for s in signals if s.signal_type in ("md5", "sha256")})
        withdrawn, state = await asyncio.gather(self.db.read_plan(
            self.store.withdrawn_among_plan([stored_sha, *exact], self.db.dialect)), gate())
        if withdrawn:
            raise MediaWithdrawn("this media was removed from the platform and cannot be "
                                 "uploaded again")
        return state

    async def _remember(self, who: Principal, record: MediaRecord,
                        signals: Sequence[ms.MediaSignal], state: str) -> Uploaded:
        stored = await self.db.write_plan(
            self.store.remember_plan(record, who.user_id, signals, self.db.dialect))
        return Uploaded(stored or record, state, tuple(signals))

    # --- use in posts and avatars -----------------------------------------------------
    async def resolve(self, ids: Sequence[str], *, photos_only: bool = False,
                      owner: int | None = None, keep: Collection[str] = ()
                      ) -> tuple[list[dict[str, Any]], list[Signal]]:
        """Descriptors and stored signals of media ids named in a post or avatar.

        ``owner``: the author; each id must be one they uploaded, one already public,
        or one in ``keep`` (what the edited object already carries). Anything else
        answers exactly like an unknown id, so nobody learns what others uploaded.
        Withdrawn media is refused (410). The signals are the ones computed at upload
        (no decoding here)."""
        try:
            wanted = [check_id(i) for i in dict.fromkeys(ids)]
        except BlobIdError as exc:
            raise BadRequest(str(exc), exc.code) from exc
        if not wanted:
            return [], []
        found, own, public, stored = await self.db.read_plan(
            self._resolve_plan(wanted, owner, keep))
        allowed = own | public | set(keep)
        missing = [i for i in wanted
                   if i not in found or i not in allowed or not self.blobs.exists(i)]
        withdrawn = [i for i in wanted if i in found and found[i].withdrawn_at is not None]
        if withdrawn:
            raise MediaWithdrawn(f"media {withdrawn[0]} was removed and cannot be used")
        if missing:
            raise NotFound(f"unknown media id {missing[0]}; upload it first", "unknown_media")
        records = [found[i] for i in wanted]
        if photos_only and any(r.kind != "photo" for r in records):
            raise BadRequest("an avatar must be a photo", "avatar_not_photo")
        stored = await self.signals_of(records, stored)
        signals = [s for r in records for s in ms.matchable(stored.get(r.sha256, []))]
        return [descriptor(r) for r in records], signals

    def _resolve_plan(self, wanted: Sequence[str], owner: int | None, keep: Collection[str]
                      ) -> Plan[tuple[dict[str, MediaRecord], set[str], set[str],
                                      dict[str, list[ms.MediaSignal]]]]:
        """What ``resolve`` reads, in one snapshot (one hop on SQLite): the rows, which
        the owner uploaded, which others are public, and the stored signals."""
        dialect = self.db.dialect
        found = yield from self.store.get_many_plan(wanted, dialect)
        own = (set(wanted) if owner is None
               else (yield from self.store.uploaded_by_plan(wanted, owner, dialect)))
        public = set()
        for i in wanted:
            if i in found and i not in own and i not in keep and (
                    yield from self.store.publicly_used_plan([i])):
                public.add(i)
        stored = yield from self.store.signals_plan([i for i in wanted if i in found], dialect)
        return found, own, public, stored

    async def signals_of(self, records: Sequence[MediaRecord],
                         stored: dict[str, list[ms.MediaSignal]] | None = None
                         ) -> dict[str, list[ms.MediaSignal]]:
        """Stored signals (``stored``: read already); media uploaded before they were
        stored (migration 0011) is hashed once now, from its stored bytes, and its
        signals kept."""
        if stored is None:
            async with self.db.read() as conn:
                stored = await self.store.signals(conn, [r.sha256 for r in records])
        for r in records:
            if r.sha256 not in stored and self.blobs.exists(r.sha256):
                data = await asyncio.to_thread(self.blobs.read, r.sha256)
                signals = await asyncio.to_thread(legacy_signals, data, r.kind, r.media_type)
                async with self.db.write() as conn:
                    await self.store.set_signals(conn, r.sha256, signals)
                stored[r.sha256] = list(signals)
        return stored

    async def signals_by_id(self, ids: Sequence[str]) -> dict[str, list[ms.MediaSignal]]:
        """Stored signals of media ids (system callers: retro-scan, auto-banking)."""
        async with self.db.read() as conn:
            found = await self.store.get_many(conn, [i for i in ids if _valid(i)])
        return await self.signals_of(list(found.values()))

    async def uploaded_by(self, user_id: int, ids: Sequence[str]) -> set[str]:
        async with self.db.read() as conn:
            return await self.store.uploaded_by(conn, [i for i in ids if _valid(i)], user_id)

    # --- withdrawal -----------------------------------------------------------------
    async def withdraw(self, ids: Sequence[str], reason: str) -> list[str]:
        """A removal reached this media: never served or used again, on every process
        at once (the next request reads the flag). Returns the ids newly withdrawn."""
        wanted = [i for i in dict.fromkeys(ids) if _valid(i)]
        async with self.db.write() as conn:
            return await self.store.withdraw(conn, wanted, reason, self.clock())

    async def reinstate(self, ids: Sequence[str]) -> None:
        async with self.db.write() as conn:
            await self.store.reinstate(conn, [i for i in ids if _valid(i)])

    # --- serving ----------------------------------------------------------------------
    def preview_url(self, sha256: str, user_id: int) -> tuple[str, int]:
        """A signed URL through which this uploader sees their media before it is
        public; returns it with its expiry (Unix seconds)."""
        expires = self.clock() // 1000 + limits.MEDIA_PREVIEW_TTL_S
        sig = self._sign(sha256, str(user_id), str(expires))
        return f"{media_url(sha256)}?u={user_id}&exp={expires}&sig={sig}", expires

    def _sign(self, sha256: str, user_id: str, expires: str) -> str:
        message = f"{sha256}.{user_id}.{expires}".encode()
        return hmac.new(self.signing_key, message, hashlib.sha256).hexdigest()

    def _preview_user(self, sha256: str, preview: Preview | None) -> int | None:
        """The uploader a valid, unexpired preview signature names, else None."""
        if preview is None or not self.signing_key:
            return None
        if not (preview.user_id.isdigit() and preview.expires.isdigit()
                and len(preview.user_id) <= 19 and len(preview.expires) <= 12):
            return None
        good = self._sign(sha256, preview.user_id, preview.expires)
        if not hmac.compare_digest(good, preview.sig):
            return None
        left = int(preview.expires) - self.clock() // 1000
        if not 0 <= left <= limits.MEDIA_PREVIEW_TTL_S:
            return None
        return int(preview.user_id)

    async def availability(self, sha256: str, preview: Preview | None = None
                           ) -> Availability:
        """What ``/media/{sha256}`` may answer now (read from the database on every
        request, so a removal applies on every process at once)."""
        if not _valid(sha256):
            return Availability(Access.NOT_FOUND)
        async with self.db.read() as conn:
            parents = await self.store.parents(conn, sha256)
            if not parents:
                return Availability(Access.NOT_FOUND)
            if any(p.withdrawn_at is not None for p in parents):
                return Availability(Access.GONE)
            ids = [p.sha256 for p in parents]
            public = await self.store.publicly_used(conn, ids)
            viewer = self._preview_user(sha256, preview)
            uploader = (viewer is not None
                        and bool(await self.store.uploaded_by(conn, [sha256], viewer)))
            used = await self.store.ever_used(conn, ids)
        banned, held = await self._banked(parents)
        if banned:
            return Availability(Access.GONE)
        path = self.blobs.path(sha256)
        if not path.is_file():
            return Availability(Access.GONE if used or public else Access.NOT_FOUND)
        media_type, kind = _served_type(sha256, parents[0])
        if public and not held:
            return Availability(Access.PUBLIC, media_type, kind, path)
        if uploader:
            return Availability(Access.PREVIEW, media_type, kind, path)
        return Availability(Access.GONE if used else Access.NOT_FOUND)

    async def _banked(self, parents: Sequence[MediaRecord]) -> tuple[bool, bool]:
        """(rejected, held) by the engine's current banks, from the stored signals: a
        hash banked after the upload stops the media at once, before any retro-scan."""
        if self.moderation is None:
            return False, False
        stored = await self.signals_of(parents)
        signals = [s for p in parents for s in ms.matchable(stored.get(p.sha256, []))]
        if not signals:
            return False, False
        decision = self.moderation.decide(Surface.MEDIA, signals)
        return decision.verdict is Verdict.REJECT, decision.verdict is Verdict.HOLD

    async def served_type(self, sha256: str) -> tuple[str, str] | None:
        async with self.db.read() as conn:
            return await self.store.served_type(conn, sha256)

    # --- garbage collection -----------------------------------------------------------
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


async def _all_staged(staged: Sequence[asyncio.Future[BlobWriter]]) -> list[BlobWriter]:
    """The staged blobs, or, when one could not be written, none: the others are
    discarded and the error raised."""
    done = await asyncio.gather(*staged, return_exceptions=True)
    failed = next((d for d in done if isinstance(d, BaseException)), None)
    if failed is not None:
        for d in done:
            if isinstance(d, BlobWriter):
                d.abort()
        raise failed
    return [d for d in done if isinstance(d, BlobWriter)]


async def _abort_all(staged: Sequence[asyncio.Future[BlobWriter]]) -> None:
    """Discard the temp files of staged blobs (each once written; a failed one left
    nothing behind)."""
    for future in staged:
        with contextlib.suppress(Exception):
            (await future).abort()


def _valid(sha256: str) -> bool:
    try:
        check_id(sha256)
    except BlobIdError:
        return False
    return True


def _served_type(sha256: str, parent: MediaRecord) -> tuple[str, str]:
    if parent.sha256 == sha256:
        return parent.media_type, parent.kind
    return ("image/png" if parent.media_type == "image/png" else "image/jpeg"), "photo"

"""Encrypted attachments: opaque blobs the server stores and serves but cannot read.

The client encrypts a file with AES-256-GCM (crypto/attachments.py) and uploads only
the ciphertext; the key, both hashes, size and type travel inside the E2EE message.
The server keeps the blob under its SHA-256 in a store of its own (not the public
media store: nothing here is ever served to the web or moderated), counts it against
the uploader's quota, and deletes it after ``ATTACHMENT_RETENTION_MS`` or earlier
when a disappearing-message timer says so (:meth:`AttachmentService.prune`).
Downloads need a logged-in device and the hash, which only recipients learn.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import sqlalchemy as sa

from tidings.protocol import limits
from tidings.protocol.errors import BadRequest, NotFound, PayloadTooLarge
from tidings.services.accounts import Principal
from tidings.services.clock import Clock
from tidings.storage.blobs import BlobIdError, BlobStore, BlobTooLargeError, check_id
from tidings.storage.database import Database
from tidings.storage.group_schema import attachments


class QuotaExceeded(PayloadTooLarge):
    default_code = "attachment_quota_exceeded"


@dataclass(frozen=True, slots=True)
class Stored:
    sha256: str
    size: int
    expires_at: int


class AttachmentService:
    def __init__(self, db: Database, blobs: BlobStore, clock: Clock) -> None:
        self.db = db
        self.blobs = blobs
        self.clock = clock

    async def usage(self, user_id: int) -> int:
        async with self.db.read() as conn:
            total = (await conn.execute(sa.select(sa.func.coalesce(sa.func.sum(
                attachments.c.size), 0)).where(attachments.c.user_id == user_id))).scalar_one()
        return int(total)

    async def upload(self, who: Principal, chunks: AsyncIterator[bytes],
                     declared: int | None = None, expires_in_ms: int | None = None) -> Stored:
        room = limits.ATTACHMENT_QUOTA_BYTES - await self.usage(who.user_id)
        if declared is not None and declared > room:
            raise QuotaExceeded(f"this would exceed your {limits.ATTACHMENT_QUOTA_BYTES}-byte "
                                "attachment quota")
        writer = self.blobs.writer(min(limits.ATTACHMENT_UPLOAD_MAX_BYTES, max(room, 0)))
        try:
            async for chunk in chunks:
                writer.write(chunk)
            if writer.size == 0:
                raise BadRequest("the upload is empty", "empty_upload")
            sha = await asyncio.to_thread(writer.commit)
        except BlobTooLargeError as exc:
            if writer.size > limits.ATTACHMENT_UPLOAD_MAX_BYTES:
                raise PayloadTooLarge(
                    f"attachments are at most {limits.ATTACHMENT_UPLOAD_MAX_BYTES} bytes",
                    "attachment_too_large") from exc
            raise QuotaExceeded(f"this would exceed your {limits.ATTACHMENT_QUOTA_BYTES}-byte "
                                "attachment quota") from exc
        finally:
            writer.abort()
        now = self.clock()
        ttl = min(expires_in_ms or limits.ATTACHMENT_RETENTION_MS,
                  limits.ATTACHMENT_RETENTION_MS)
        async with self.db.write() as conn:
            known = (await conn.execute(sa.select(attachments.c.sha256)
                                        .where(attachments.c.sha256 == sha))).first()
            if known is None:
                await conn.execute(attachments.insert().values(
                    sha256=sha, user_id=who.user_id, size=writer.size, created_at=now,
                    expires_at=now + ttl))
        return Stored(sha, writer.size, now + ttl)

    async def path(self, sha256: str) -> str:
        try:
            check_id(sha256)
        except BlobIdError as exc:
            raise NotFound("no such attachment", "attachment_not_found") from exc
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(attachments.c.expires_at)
                                      .where(attachments.c.sha256 == sha256))).first()
        path = self.blobs.path(sha256)
        if row is None or int(row[0]) <= self.clock() or not path.is_file():
            raise NotFound("no such attachment", "attachment_not_found")
        return str(path)

    async def expire(self, sha256s: list[str], at: int) -> None:
        """Bring expiry forward (a disappearing-message timer)."""
        async with self.db.write() as conn:
            await conn.execute(attachments.update().where(
                attachments.c.sha256.in_(sha256s), attachments.c.expires_at > at)
                .values(expires_at=at))

    async def prune(self) -> int:
        """Delete attachments past their expiry, rows and blobs."""
        now = self.clock()
        async with self.db.write() as conn:
            rows = (await conn.execute(sa.select(attachments.c.sha256)
                                       .where(attachments.c.expires_at <= now))).all()
            await conn.execute(attachments.delete().where(attachments.c.expires_at <= now))
        for (sha,) in rows:
            await asyncio.to_thread(self.blobs.delete, str(sha))
        return len(rows)

"""The preservation store (TCO Regulation (EU) 2021/784, Art. 6).

When content is removed or disabled — by a removal order, a moderator's takedown or
a review decision — the content and related data (the post's text and media, the
channel's and the account's data, the decision or order) are copied here and kept
for six months (Art. 6(2)), longer when the authority asks. The copies are for
administrative or judicial review and complaints (Art. 6(1)(a)) and for the
prevention, detection, investigation and prosecution of terrorist offences
(Art. 6(1)(b)), so they are never served publicly: only admins and the ordering
authority read them, through the authenticated API. A durable job purges each item
when it expires, blob copies included. If an appeal reverses the removal, the
content is restored from here.

Removed media also stops being downloadable from the public ``/media`` route (unless
another live post or an avatar uses the same bytes); the preserved copy is what brings
it back on reinstatement.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Sequence
from typing import Any, Final

from tidings.moderation.orders import PRESERVATION_EXTENSION_MAX_MONTHS, PRESERVATION_MONTHS
from tidings.moderation.review import add_months
from tidings.protocol import limits
from tidings.protocol.errors import BadRequest, NotFound
from tidings.services.accounts import Principal
from tidings.services.clock import Clock
from tidings.services.jobs import JobContext, JobService
from tidings.storage.accounts import AccountStore
from tidings.storage.blobs import BlobIdError, BlobStore, check_id
from tidings.storage.channels import ChannelRecord, ChannelStore, PostRecord
from tidings.storage.database import Database
from tidings.storage.media import MediaStore
from tidings.storage.preservation import PreservationStore, PreservedRow

PURGE_JOB: Final = "preservation_purge"
Gathered = tuple[dict[str, Any], tuple[list[str], dict[str, str]], list[int]]
"""What a target's copy holds: its record, its blobs (and thumbnails), its post ids."""
ALL_STATES: Final = ("visible", "held", "removed")


def new_id() -> str:
    return "pv_" + secrets.token_urlsafe(12)


class PreservationService:
    def __init__(self, db: Database, store: PreservationStore, channels: ChannelStore,
                 accounts: AccountStore, media: MediaStore, public_blobs: BlobStore,
                 preserved_blobs: BlobStore, jobs: JobService, clock: Clock) -> None:
        self.db = db
        self.store = store
        self.channels = channels
        self.accounts = accounts
        self.media = media
        self.public_blobs = public_blobs
        self.blobs = preserved_blobs
        self.jobs = jobs
        self.clock = clock

    # -- taking copies ------------------------------------------------------------------
    async def preserve(self, kind: str, ref: str, cause: str, decision: dict[str, Any], *,
                       order_id: str | None = None, case_id: str | None = None,
                       authority_user_id: int | None = None) -> str | None:
        """Copy the target and its related data; returns the item id (None if the target
        is gone). Removed media is then withdrawn from the public media route."""
        async with self.db.read() as conn:
            if kind == "post":
                gathered = await self._post(conn, int(ref))
            elif kind == "channel":
                gathered = await self._channel(conn, int(ref))
            elif kind == "account":
                gathered = await self._account(conn, int(ref))
            else:
                raise BadRequest(f"cannot preserve a {kind}", "not_applicable")
        if gathered is None:
            return None
        record, (shas, thumbs), post_ids = gathered
        record["decision"] = decision
        copied = await self._copy(shas)
        now = self.clock()
        row = PreservedRow(new_id(), kind, ref, cause, order_id, case_id, authority_user_id,
                           json.dumps(record, ensure_ascii=False), now,
                           add_months(now, PRESERVATION_MONTHS), 0, None, None)
        async with self.db.write() as conn:
            await self.store.insert(conn, row, copied)
            used = await self.store.publicly_used(conn, [s for s, _ in copied], post_ids)
        used |= {thumbs[s] for s in used if s in thumbs}  # a used item keeps its thumbnail
        withdraw = [] if kind == "account" else [s for s, _ in copied if s not in used]
        for sha in withdraw:
            await asyncio.to_thread(self.public_blobs.delete, sha)
        await self._schedule(row.id, row.expires_ms)
        return row.id

    async def _post(self, conn: Any, post_id: int) -> Gathered | None:
        post = await self.channels.post(conn, post_id)
        if post is None:
            return None
        channel = await self.channels.by_id(conn, post.channel_id)
        author = (await self._user(conn, post.author_id)) if post.author_id else None
        record = {"post": _post_json(post), "channel": _channel_json(channel),
                  "account": author}
        return record, await self._shas(conn, _media_ids(post)), [post.id]

    async def _channel(self, conn: Any, channel_id: int) -> Gathered | None:
        channel = await self.channels.by_id(conn, channel_id)
        if channel is None:
            return None
        posts = await self.channels.history(conn, channel.id, before=None, start=None,
                                            limit=limits.PRESERVE_CHANNEL_POSTS_MAX,
                                            states=ALL_STATES)
        owner = await self._user(conn, channel.owner_id)
        ids = [m for p in posts for m in _media_ids(p)]
        if channel.avatar_sha256:
            ids.append(channel.avatar_sha256)
        record = {"channel": _channel_json(channel), "account": owner,
                  "posts": [_post_json(p) for p in posts],
                  "posts_truncated": len(posts) == limits.PRESERVE_CHANNEL_POSTS_MAX}
        return record, await self._shas(conn, ids), [p.id for p in posts]

    async def _account(self, conn: Any, user_id: int) -> Gathered | None:
        account = await self._user(conn, user_id)
        if account is None:
            return None
        profile = await self.media.profile(conn, user_id)
        ids = [profile.avatar_sha256] if profile and profile.avatar_sha256 else []
        return {"account": account}, await self._shas(conn, ids), []

    async def _user(self, conn: Any, user_id: int) -> dict[str, Any] | None:
        user = await self.accounts.user_by_id(conn, user_id)
        if user is None:
            return None
        return {"id": user.id, "username": user.username, "display_name": user.display_name,
                "role": user.role, "created_at": user.created_at,
                "suspended_at": user.suspended_at, "deleted_at": user.deleted_at}

    async def _shas(self, conn: Any, ids: Sequence[str]) -> tuple[list[str], dict[str, str]]:
        """The blobs to keep: each media item and its thumbnail, within the limit; and
        which thumbnail belongs to which item."""
        wanted = list(dict.fromkeys(ids))[: limits.PRESERVE_BLOBS_MAX]
        found = await self.media.get_many(conn, wanted)
        thumbs = {r.sha256: r.thumb_sha256 for r in found.values() if r.thumb_sha256}
        return list(dict.fromkeys([*wanted, *thumbs.values()])), thumbs

    async def _copy(self, shas: Sequence[str]) -> list[tuple[str, int]]:
        copied = []
        for sha in shas:
            if self.blobs.exists(sha):
                copied.append((sha, self.blobs.path(sha).stat().st_size))
                continue
            if not self.public_blobs.exists(sha):
                continue  # already gone (collected, or withdrawn by an earlier removal)
            data = await asyncio.to_thread(self.public_blobs.read, sha)
            await asyncio.to_thread(self.blobs.put, data)
            copied.append((sha, len(data)))
        return copied

    async def _schedule(self, item_id: str, expires_ms: int) -> None:
        await self.jobs.enqueue(PURGE_JOB, {"id": item_id},
                                dedupe_key=f"{PURGE_JOB}:{item_id}:{expires_ms}",
                                delay_ms=max(0, expires_ms - self.clock()))

    # -- reading (admins and the ordering authority) --------------------------------------
    async def _readable(self, who: Principal, item_id: str) -> PreservedRow:
        async with self.db.read() as conn:
            row = await self.store.get(conn, item_id)
        if row is None or row.purged_ms is not None or not _may_read(who, row):
            raise NotFound("no such preserved item", "preservation_not_found")
        return row

    async def get(self, who: Principal, item_id: str) -> dict[str, Any]:
        row = await self._readable(who, item_id)
        async with self.db.read() as conn:
            blobs = await self.store.blobs(conn, item_id)
        return {**summary(row), "record": json.loads(row.record),
                "blobs": [{"sha256": s, "size": n,
                           "url": f"/api/v1/preservation/{row.id}/blobs/{s}"}
                          for s, n in blobs]}

    async def items(self, who: Principal, limit: int = 100) -> list[dict[str, Any]]:
        limit = max(1, min(limit, limits.ORDERS_PAGE_MAX))
        async with self.db.read() as conn:
            rows = await self.store.items(
                conn, authority_user_id=None if who.is_admin else who.user_id, limit=limit)
        return [summary(r) for r in rows if r.purged_ms is None]

    async def blob(self, who: Principal, item_id: str, sha256: str) -> bytes:
        row = await self._readable(who, item_id)
        try:
            check_id(sha256)
        except BlobIdError as exc:
            raise NotFound("no such preserved file", "preserved_blob_not_found") from exc
        async with self.db.read() as conn:
            kept = {s for s, _ in await self.store.blobs(conn, row.id)}
        if sha256 not in kept or not self.blobs.exists(sha256):
            raise NotFound("no such preserved file", "preserved_blob_not_found")
        return await asyncio.to_thread(self.blobs.read, sha256)

    async def extend(self, who: Principal, item_id: str, months: int) -> dict[str, Any]:
        """Art. 6(2): keep longer at the authority's (or a court's, via an admin) request."""
        if not 1 <= months <= PRESERVATION_EXTENSION_MAX_MONTHS:
            raise BadRequest(f"extend by 1..{PRESERVATION_EXTENSION_MAX_MONTHS} months",
                             "invalid_extension")
        row = await self._readable(who, item_id)
        expires = add_months(row.expires_ms, months)
        async with self.db.write() as conn:
            await self.store.update(conn, row.id, expires_ms=expires,
                                    extensions=row.extensions + 1)
        await self._schedule(row.id, expires)
        async with self.db.read() as conn:
            updated = await self.store.get(conn, row.id)
        assert updated is not None
        return summary(updated)

    async def of_order(self, order_id: str) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            rows = await self.store.of_order(conn, order_id)
        return [summary(r) for r in rows]

    # -- purge and restore ----------------------------------------------------------------
    async def purge_job(self, ctx: JobContext) -> dict[str, Any]:
        """The durable purge: runs when an item expires. An item extended meanwhile has a
        later job; this one then finds it not yet due and leaves it."""
        item_id = str(ctx.payload.get("id", ""))
        async with self.db.read() as conn:
            row = await self.store.get(conn, item_id)
        if row is None or row.purged_ms is not None:
            return {"purged": False, "reason": "gone"}
        now = self.clock()
        if now < row.expires_ms:
            return {"purged": False, "reason": "not_due", "expires_ms": row.expires_ms}
        async with self.db.write() as conn:
            orphans = await self.store.purge(conn, row.id, now)
        for sha in orphans:
            await asyncio.to_thread(self.blobs.delete, sha)
        return {"purged": True, "blobs_deleted": len(orphans)}

    async def restore(self, kind: str, ref: str) -> int:
        """Reinstatement after a successful appeal (DSA Art. 20(4), TCO Art. 10): put the
        preserved media back where the public route serves it. Returns files restored."""
        async with self.db.read() as conn:
            rows = await self.store.of_target(conn, kind, ref)
            shas = {s for r in rows for s, _ in await self.store.blobs(conn, r.id)}
        restored = 0
        for sha in sorted(shas):
            if not self.public_blobs.exists(sha) and self.blobs.exists(sha):
                data = await asyncio.to_thread(self.blobs.read, sha)
                await asyncio.to_thread(self.public_blobs.put, data)
                restored += 1
        now = self.clock()
        async with self.db.write() as conn:
            for row in rows:
                await self.store.update(conn, row.id, restored_ms=now)
        return restored


def _may_read(who: Principal, row: PreservedRow) -> bool:
    if who.is_admin:
        return True
    return who.role == "authority" and row.authority_user_id == who.user_id


def summary(row: PreservedRow) -> dict[str, Any]:
    return {"id": row.id, "target": {"kind": row.target_kind, "ref": row.target_ref},
            "cause": row.cause, "order_id": row.order_id, "case_id": row.case_id,
            "created_ms": row.created_ms, "expires_ms": row.expires_ms,
            "extensions": row.extensions, "restored_ms": row.restored_ms}


def _media_ids(post: PostRecord) -> list[str]:
    return [str(m["sha256"]) for m in json.loads(post.media)]


def _post_json(post: PostRecord) -> dict[str, Any]:
    return {"id": post.id, "number": post.number, "channel_id": post.channel_id,
            "author_id": post.author_id,
            "text": post.text, "media": json.loads(post.media),
            "forwarded_from": json.loads(post.forwarded_from) if post.forwarded_from else None,
            "state": post.state, "created_at": post.created_at, "edited_at": post.edited_at,
            "deleted_at": post.deleted_at}


def _channel_json(channel: ChannelRecord | None) -> dict[str, Any] | None:
    if channel is None:
        return None
    return {"id": channel.id, "handle": channel.handle, "title": channel.title,
            "description": channel.description, "avatar_sha256": channel.avatar_sha256,
            "visibility": channel.visibility, "owner_id": channel.owner_id,
            "state": channel.state, "subscriber_count": channel.subscriber_count,
            "created_at": channel.created_at}

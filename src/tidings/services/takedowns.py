"""Staff actions on single posts: remove (hide and auto-bank) and release a held post.

``remove_post`` is what a moderator's removal, a legal removal order and a retro-scan
hit share: the post is hidden from the API, web view and search, subscribers get a
delete event, its signals go into the local takedown bank so reposts are refused,
and the audit log records who did it under which rule or policy. Applied once per
post: a second removal changes nothing.
"""

from __future__ import annotations

import json
from typing import Any, Final

from tidings.moderation import MediaContent
from tidings.moderation.actions import ActionKind, idempotency_key
from tidings.moderation.audit import AuditRecord
from tidings.moderation.reasons import (
    ContentKind,
    StatementOfReasons,
    from_staff_removal,
    render_text,
    to_record,
)
from tidings.moderation.text_signals import bank_text_signals
from tidings.protocol.errors import BadRequest, NotFound, TidingsError
from tidings.services.actions import DEFAULT_TAKEDOWN_LABEL, ActionService, top_label
from tidings.services.channel_access import post_json
from tidings.services.channels import channel_topic
from tidings.services.gate import HELD, REMOVED, VISIBLE
from tidings.services.media import MediaService
from tidings.services.posts import channel_frame
from tidings.services.streams import dumps
from tidings.storage.channels import ChannelRecord, ChannelStore, PostRecord
from tidings.storage.search import SearchIndex

REMOVE_POST: Final = "remove_post"
RELEASE_POST: Final = "release_post"
MODERATOR_POLICY: Final = "policy:moderator_decision"


def statement_body(sor: StatementOfReasons) -> dict[str, Any]:
    """What the affected user is shown (the stored row adds the export's record)."""
    return {"statement_id": sor.statement_id, "text": render_text(sor),
            "ground": sor.ground.reference, "restrictions": [str(r) for r in sor.restrictions]}


class TakedownService:
    def __init__(self, actions: ActionService, store: ChannelStore, search: SearchIndex,
                 media: MediaService) -> None:
        self.actions = actions
        self.db = actions.db
        self.store = store
        self.search_index = search
        self.media = media
        self.preservation: Any = None
        """The preservation store (TCO Art. 6), bound by the app: removals copy into it."""
        self.notices: Any = None
        """The system inbox (``NoticeService``), bound by the app: a staff removal's
        statement of reasons goes to the affected user."""

    async def _load(self, post_id: int) -> tuple[PostRecord, ChannelRecord]:
        async with self.db.read() as conn:
            post = await self.store.post(conn, post_id)
            channel = await self.store.by_id(conn, post.channel_id) if post else None
        if post is None or channel is None or post.deleted_at is not None:
            raise NotFound("no such post", "post_not_found")
        return post, channel

    async def remove_post(self, post_id: int, actor: str, rule: str = MODERATOR_POLICY,
                          labels: tuple[str, ...] = (DEFAULT_TAKEDOWN_LABEL,),
                          auto_bank: bool = True, preserve: bool = True,
                          statement: bool = False) -> dict[str, Any]:
        """Hide the post, bank its signals and preserve a copy (TCO Art. 6); idempotent
        per post. A removal order preserves by itself (``preserve=False``) to link the copy
        to the order. ``statement``: a staff decision outside the review queue, which
        writes and delivers its own statement of reasons (DSA Art. 17; the queue, orders
        and the rules write theirs)."""
        post, channel = await self._load(post_id)
        target = f"post:{post.id}"
        key = idempotency_key(REMOVE_POST, ActionKind.REJECT, target, target)
        seq = 0
        body = {"id": post.id, "channel": channel.handle}
        now = self.actions.clock()
        async with self.db.write() as conn:
            if not await self.actions.store.claim(
                    conn, key, kind=REMOVE_POST, rule=rule, ruleset_version=0, target=target,
                    cause=target, actor=actor, created_at=now):
                return {"removed": False, "post": post.id}
            await self.store.update_post(conn, post.id, state=REMOVED)
            await self.search_index.unindex_post(conn, post.id)
            if channel.pinned_post_id == post.id:
                await self.store.update(conn, channel.id, pinned_post_id=None)
            if post.state == VISIBLE:
                seq = await self.store.append_update(conn, channel.id, "delete", post.id,
                                                     dumps(body), now)
            await self.actions.store.audit(conn, AuditRecord(
                actor, REMOVE_POST, rule, target, now,
                {"channel": channel.handle, "labels": list(labels), "previous_state": post.state}))
            sor = self._staff_statement(post, labels, now) if statement else None
            affected = post.author_id if post.author_id is not None else channel.owner_id
            if sor is not None:
                await self.actions.store.add_statement(
                    conn, target, affected, {**statement_body(sor), "record": to_record(sor)},
                    now)
        if sor is not None and self.notices is not None:
            await self.notices.deliver(affected, "statement_of_reasons", None, {
                "decision": "remove", "policy": sor.ground.label,
                "statement": statement_body(sor)})
        if seq:
            frame = channel_frame(channel.handle, seq, "delete", dumps(body))
            await self.actions.bus.publish(channel_topic(channel.id), frame.encode())
        banked = await self._bank(post, labels) if auto_bank else 0
        out: dict[str, Any] = {"removed": True, "post": post.id, "banked": banked}
        if preserve and self.preservation is not None:
            out["preservation_id"] = await self.preservation.preserve(
                "post", str(post.id), "takedown",
                {"actor": actor, "rule": rule, "labels": list(labels), "time_ms": now})
        return out

    @staticmethod
    def _staff_statement(post: PostRecord, labels: tuple[str, ...], now: int
                         ) -> StatementOfReasons:
        kinds = [ContentKind.TEXT] if post.text else []
        if json.loads(post.media):
            kinds.append(ContentKind.IMAGE)
        return from_staff_removal(f"sor-rm-{post.id}", labels, kinds, post.created_at, now,
                                  after_hold=post.state == HELD)

    async def bank_post(self, post_id: int,
                        labels: tuple[str, ...] = (DEFAULT_TAKEDOWN_LABEL,)) -> int:
        """Bank a post removed elsewhere (a review decision) so copies are caught."""
        post, _ = await self._load(post_id)
        return await self._bank(post, labels)

    async def _bank(self, post: PostRecord, labels: tuple[str, ...]) -> int:
        label = top_label(labels) or DEFAULT_TAKEDOWN_LABEL
        pairs: set[tuple[str, str]] = set()
        if post.text:
            pairs |= set(bank_text_signals(post.text))
        banked = await self.actions.auto_bank(sorted(pairs), label) if pairs else 0
        media_ids = [m["sha256"] for m in json.loads(post.media)]
        try:
            _, contents = await self.media.resolve(media_ids)
        except TidingsError:
            contents = []
        await self.actions.ensure_takedown_bank()
        for content in contents:
            if isinstance(content, MediaContent):
                from tidings.services.actions import AUTO_BANK_SOURCE, LOCAL_TAKEDOWN_BANK
                result = await self.actions.banks.add_file(
                    LOCAL_TAKEDOWN_BANK, content.data, [label], AUTO_BANK_SOURCE)
                banked += len(result.added)
        return banked

    async def release(self, post_id: int, actor: str) -> dict[str, Any]:
        """A held post a moderator found fine: publish it now."""
        post, channel = await self._load(post_id)
        if post.state != HELD:
            raise BadRequest("only a held post can be released", "not_held")
        now = self.actions.clock()
        async with self.db.write() as conn:
            updated = await self.store.update_post(conn, post.id, state=VISIBLE)
            body = post_json(updated, channel)
            await self.search_index.index_post(conn, post.id, post.text)
            seq = await self.store.append_update(conn, channel.id, "post", post.id,
                                                 dumps(body), now)
            await self.actions.store.audit(conn, AuditRecord(
                actor, RELEASE_POST, MODERATOR_POLICY, f"post:{post.id}", now,
                {"channel": channel.handle}))
        frame = channel_frame(channel.handle, seq, "post", dumps(body))
        await self.actions.bus.publish(channel_topic(channel.id), frame.encode())
        return body

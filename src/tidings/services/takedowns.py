"""Staff actions on single posts: remove (hide and auto-bank) and release a held post.

``remove_post`` is what a moderator's removal, a legal removal order and a retro-scan
hit share: the post is hidden from the API, web view and search, subscribers get a
delete event, its signals go into the local takedown bank so reposts are refused,
and the audit log records who did it under which rule or policy. Applied once per
post: a second removal changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any, Final

from tidings.moderation import TextContent
from tidings.moderation.actions import ActionKind, idempotency_key
from tidings.moderation.audit import AuditRecord
from tidings.moderation.errors import ModerationError
from tidings.moderation.limits import PDQ_MIN_QUALITY
from tidings.moderation.manifest import signals_for
from tidings.moderation.media_signals import LOW_TEXTURE_NOTE, low_texture
from tidings.moderation.reasons import (
    ContentKind,
    StatementOfReasons,
    from_staff_removal,
    render_text,
    to_record,
)
from tidings.moderation.signal_types import decode_image, pdq_augmented
from tidings.moderation.text_signals import bank_text_signals, bankable
from tidings.moderation.visibility import Audience
from tidings.protocol.errors import BadRequest, NotFound
from tidings.services.actions import (
    AUTO_BANK_SOURCE,
    DEFAULT_TAKEDOWN_LABEL,
    LOCAL_TAKEDOWN_BANK,
    ActionService,
    top_label,
)
from tidings.services.channel_access import post_json
from tidings.services.media import MediaService
from tidings.services.moderation import HELD, REMOVED, VISIBLE
from tidings.services.notices import NoticeService
from tidings.services.post_states import PostStates
from tidings.services.preservation import PreservationService
from tidings.storage.channels import ChannelRecord, ChannelStore, PostRecord
from tidings.storage.search import SearchIndex

REMOVE_POST: Final = "remove_post"
RELEASE_POST: Final = "release_post"
MODERATOR_POLICY: Final = "policy:moderator_decision"
EXACT_TYPES: Final = frozenset({"md5", "sha256"})


def _media_ids(post: PostRecord) -> list[str]:
    return [str(m["sha256"]) for m in json.loads(post.media)]


def crop_signals(data: bytes) -> list[tuple[str, str]]:
    """PDQ of centre crops of a stored picture, for banking (CPU-bound: a thread)."""
    return [("pdq", h) for h, q in pdq_augmented(decode_image(data)) if q >= PDQ_MIN_QUALITY]


def banked_text_forms(text: str) -> list[tuple[str, str]]:
    """Every (signal type, value) under which a post's text can be auto-banked: what a
    removal banks (``bank_text_signals``) and what a rule's ``auto_bank`` banks from
    the query signals (``bankable``); a reversal disables all of them."""
    forms = dict.fromkeys(bank_text_signals(text))
    forms.update(dict.fromkeys(bankable(signals_for(TextContent(text)))))
    return list(forms)


def statement_body(sor: StatementOfReasons) -> dict[str, Any]:
    """What the affected user is shown (the stored row adds the export's record)."""
    return {"statement_id": sor.statement_id, "text": render_text(sor),
            "ground": sor.ground.reference, "restrictions": [str(r) for r in sor.restrictions]}


class TakedownService:
    def __init__(self, actions: ActionService, store: ChannelStore, search: SearchIndex,
                 media: MediaService, notices: NoticeService,
                 preservation: PreservationService) -> None:
        self.actions = actions
        self.db = actions.db
        self.store = store
        self.search_index = search
        self.media = media
        self.states = PostStates(store, search, actions.bus)
        self.preservation = preservation
        """The preservation store (TCO Art. 6): removals copy into it."""
        self.notices = notices
        """The system inbox: a staff removal's statement of reasons goes to the
        affected user."""

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
                          statement: bool = False, entry_ids: tuple[int, ...] = ()
                          ) -> dict[str, Any]:
        """Hide the post, bank its signals and preserve a copy (TCO Art. 6); idempotent
        per post. A removal order preserves by itself (``preserve=False``) to link the copy
        to the order. ``statement``: a staff decision outside the review queue, which
        writes and delivers its own statement of reasons (DSA Art. 17; the queue, orders
        and the rules write theirs)."""
        post, channel = await self._load(post_id)
        target = f"post:{post.id}"
        key = idempotency_key(REMOVE_POST, ActionKind.REJECT, target, target)
        now = self.actions.clock()
        async with self.db.write() as conn:
            if not await self.actions.store.claim(
                    conn, key, kind=REMOVE_POST, rule=rule, ruleset_version=0, target=target,
                    cause=target, actor=actor, created_at=now):
                return {"removed": False, "post": post.id}
            updated = await self.store.update_post(conn, post.id, state=REMOVED)
            news = await self.states.changed(conn, channel, post, updated, now)
            await self.actions.store.audit(conn, AuditRecord(
                actor, REMOVE_POST, rule, target, now,
                {"channel": channel.handle, "labels": list(labels), "previous_state": post.state,
                 "entry_ids": list(entry_ids)}))
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
        await self.states.announce(news)
        withdrawn = await self.media.withdraw(_media_ids(post), f"{REMOVE_POST}:{target}")
        # The retro-scan removes what a bank already matched: it banks only the media's
        # exact hashes (a near-duplicate of a near-duplicate must not chain removals).
        banked, low = await self._bank(post, labels, exact_only=not auto_bank)
        out: dict[str, Any] = {"removed": True, "post": post.id, "banked": len(banked),
                               "media_withdrawn": withdrawn}
        if low:
            out["low_texture_media"] = low
            out["note"] = LOW_TEXTURE_NOTE
        if preserve and self.preservation is not None:
            out["preservation_id"] = await self.preservation.preserve(
                "post", str(post.id), "takedown",
                {"actor": actor, "rule": rule, "labels": list(labels), "time_ms": now})
        return out

    async def reinstate_media(self, post_id: int) -> int:
        """A removal reversed (appeal won): the post's media may be served again, and
        every takedown-bank entry that banking the post could have added is disabled,
        in each form it is banked in: the text's folded exact hashes, near and quote
        signatures and the query forms the rules bank, and the media's stored signals
        and centre-crop PDQs (else the gate or the serving check would still find it
        banked). Only auto-banked entries are touched, never staff-curated ones.
        Returns the entries disabled."""
        async with self.db.read() as conn:
            post = await self.store.post(conn, post_id)
        if post is None:
            return 0
        ids = _media_ids(post)
        await self.media.reinstate(ids)
        pairs = set(banked_text_forms(post.text)) if post.text else set()
        stored = await self.media.signals_by_id(ids)
        pairs |= {(s.signal_type, s.value) for signals in stored.values() for s in signals}
        for sha in ids:  # pictures with a PDQ had their crops banked too
            photo = any(s.signal_type == "pdq" for s in stored.get(sha, []))
            if photo and self.media.blobs.exists(sha):
                data = await asyncio.to_thread(self.media.blobs.read, sha)
                with contextlib.suppress(ModerationError):  # undecodable: no crops banked
                    pairs |= set(await asyncio.to_thread(crop_signals, data))
        banks = self.actions.banks
        disabled = 0
        for signal_type, value in sorted(pairs):
            async with self.db.read() as conn:
                entry = await banks.store.find_entry(conn, LOCAL_TAKEDOWN_BANK, signal_type,
                                                     value)
            if entry is not None and entry.enabled and entry.source == AUTO_BANK_SOURCE:
                await banks.set_entry(LOCAL_TAKEDOWN_BANK, entry.id, enabled=False)
                disabled += 1
        return disabled

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
        """Bank a post removed elsewhere (a review decision) so copies are caught, and
        withdraw its media (never served again, whoever uploads it)."""
        return len(await self.bank_post_entries(post_id, labels))

    async def bank_post_entries(self, post_id: int, labels: tuple[str, ...] | None = None
                                ) -> list[int]:
        """Like :meth:`bank_post`; returns the ids of the entries this removal added, so
        a reversed appeal can withdraw exactly them (and what they caused)."""
        post, _ = await self._load(post_id)
        await self.media.withdraw(_media_ids(post), f"{REMOVE_POST}:post:{post.id}")
        return (await self._bank(post, labels or (DEFAULT_TAKEDOWN_LABEL,)))[0]

    async def _bank(self, post: PostRecord, labels: tuple[str, ...],
                    exact_only: bool = False) -> tuple[list[int], list[str]]:
        """Bank the post's text and media; returns the ids of the entries added and the
        media ids banked by exact hashes only (low-texture pictures, whose PDQ cannot
        match).

        Media is banked from the signals stored at upload (the exact hashes of the
        bytes as uploaded and as stored, and PDQ), plus PDQ of small centre crops of
        the stored picture (PDQ does not survive crops; docs/matching.md)."""
        label = top_label(labels) or DEFAULT_TAKEDOWN_LABEL
        pairs: set[tuple[str, str]] = set()
        if post.text and not exact_only:
            pairs |= set(bank_text_signals(post.text))
        ids = _media_ids(post)
        stored = await self.media.signals_by_id(ids)
        low = [i for i in ids if low_texture(stored.get(i, []))]
        for signals in stored.values():
            pairs |= {(s.signal_type, s.value) for s in signals if s.matchable and s.bankable
                      and (not exact_only or s.signal_type in EXACT_TYPES)}
        banked = await self.actions.auto_bank_entries(sorted(pairs), label) if pairs else []
        if exact_only:
            return banked, low
        for sha in ids:
            if sha in low or not self.media.blobs.exists(sha):
                continue
            data = await asyncio.to_thread(self.media.blobs.read, sha)
            try:
                crops = await asyncio.to_thread(crop_signals, data)
            except ModerationError:
                continue
            if crops:
                banked += await self.actions.auto_bank_entries(crops, label)
        return banked, low

    async def release(self, post_id: int, actor: str) -> dict[str, Any]:
        """A held post a moderator found fine: publish it now."""
        post, channel = await self._load(post_id)
        if post.state != HELD:
            raise BadRequest("only a held post can be released", "not_held")
        now = self.actions.clock()
        async with self.db.write() as conn:
            updated = await self.store.update_post(conn, post.id, state=VISIBLE)
            news = await self.states.changed(conn, channel, post, updated, now)
            await self.actions.store.audit(conn, AuditRecord(
                actor, RELEASE_POST, MODERATOR_POLICY, f"post:{post.id}", now,
                {"channel": channel.handle}))
        await self.states.announce(news)
        return post_json(updated, channel, Audience.STAFF)

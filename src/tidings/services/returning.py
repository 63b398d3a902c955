"""Banned channels do not come back: fingerprint them, recognise them, put them in front
of a person (issue 24, docs/rules.md "Returning channels").

When a channel is banned (by a removal order, a moderator or the strike threshold) or
deleted by its owner while under review, its **fingerprint** is kept: handle, title,
description, avatar PDQ (the stored query-side variants included), PDQ of its removed
media, its invite tokens and the link domains only it used (``candidate_domains`` minus
those in any other visible channel's posts), labelled with the ground. Removed media
itself is in the takedown bank already (``TakedownService``), so copies are refused as any copy is.

Every new or edited channel, and every post of a channel in its first days
(``limits.RETURNING_FIRST_POSTS_MS``), is compared with the fingerprints by the pure
scoring in ``moderation/resemblance.py``; the result reaches the rules as
``Facts.resemblance`` (``when.resembles_banned_channel``). A hold opens a review case
about the channel that shows it side by side with the banned one, and the owner is told.
A young channel whose post pushes it over the threshold is held whole
(``hold_young_channel``); an established one has the post (or the edit) held alone.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from tidings.moderation import labels as L
from tidings.moderation import review as rv
from tidings.moderation.actions import MS_PER_DAY
from tidings.moderation.content import Signal
from tidings.moderation.errors import ModerationError
from tidings.moderation.resemblance import (
    MAX_OWN_DOMAINS,
    Fingerprint,
    Resemblance,
    Traits,
    candidate_domains,
    closest,
)
from tidings.protocol import limits
from tidings.services.cases import open_or_join
from tidings.services.clock import Clock
from tidings.services.media import MediaService
from tidings.services.moderation import HELD, VISIBLE
from tidings.services.notices import NoticeService
from tidings.services.takedowns import crop_signals
from tidings.storage.accounts import AccountStore
from tidings.storage.channels import ChannelRecord, ChannelStore
from tidings.storage.database import Database
from tidings.storage.reports import ReportStore
from tidings.storage.returning import BANNED, RELEASED, HoldRecord, ReturningStore
from tidings.storage.search import SearchIndex

CHANNEL_HELD_NOTICE: Final = "channel_held"
RETURNING_FLAG: Final = "returning_channel"
"""Set on the actor when a resemblance is attached: the statement's ground is ban
evasion (``moderation/reasons.py``)."""
#: Signals a post itself brings; a post that adds none is not held for its channel's
#: details (a released channel's posts are not held again for what was released).
POST_SIGNALS: Final = frozenset({"link", "media"})
#: The fields of a channel whose change is compared (and held, for an established one).
EDITABLE: Final = ("title", "description", "avatar_sha256")
OTHER_CHANNELS_SHOWN: Final = 20
#: How long a process reuses the fingerprints it read (another process's ban reaches it
#: within this time; its own at once).
FINGERPRINTS_FRESH_MS: Final = 1_000


@dataclass(frozen=True, slots=True)
class Held:
    """What a hold recorded: the hold's id and the case it opened or joined."""

    hold_id: int
    case_id: str


def _pdq(signals: Sequence[Any]) -> tuple[str, ...]:
    return tuple(sorted({s.value for s in signals if s.signal_type == "pdq" and s.matchable}))


class ReturningChannels:
    def __init__(self, db: Database, store: ReturningStore, channels: ChannelStore,
                 reports: ReportStore, accounts: AccountStore, media: MediaService,
                 search: SearchIndex, clock: Clock, notices: NoticeService) -> None:
        self.db = db
        self.search_index = search
        self.store = store
        self.channels = channels
        self.reports = reports
        self.accounts = accounts
        self.media = media
        self.clock = clock
        self.notices = notices
        """The system inbox: a held channel's owner is told."""
        self._cache: tuple[int, list[Fingerprint]] | None = None

    # -- fingerprints --------------------------------------------------------------------
    async def avatar_pdq(self, avatar: str | None) -> tuple[str, ...]:
        if not avatar:
            return ()
        stored = await self.media.signals_by_id([avatar])
        return _pdq(stored.get(avatar, []))

    async def banked_avatar_pdq(self, avatar: str | None) -> tuple[str, ...]:
        """The avatar's PDQ as a bank keeps it: the stored hashes plus PDQ of small
        centre crops (PDQ alone does not survive a crop; docs/matching.md)."""
        found = await self.avatar_pdq(avatar)
        if not avatar or not self.media.blobs.exists(avatar):
            return found
        data = await asyncio.to_thread(self.media.blobs.read, avatar)
        try:
            crops = await asyncio.to_thread(crop_signals, data)
        except ModerationError:
            return found
        return tuple(sorted({*found, *(value for _, value in crops)}))

    async def fingerprint(self, channel_id: int, label: str, cause: str) -> bool:
        """Keep the banned channel's fingerprint (once; the first ground is kept)."""
        async with self.db.read() as conn:
            channel = await self.channels.by_id(conn, channel_id)
            if channel is None:
                return False
            post_ids = await self.channels.post_ids(conn, channel_id)
            posts = await self.channels.posts_by_ids(conn, post_ids)
        removed = [str(m["sha256"]) for p in posts if p.state == "removed"
                   for m in json.loads(p.media)]
        stored = await self.media.signals_by_id(removed) if removed else {}
        media_pdq = _pdq([s for signals in stored.values() for s in signals])
        tokens = (channel.invite_token,) if channel.invite_token else ()
        candidates = candidate_domains([channel.description, *(p.text for p in posts)])
        async with self.db.read() as conn:
            shared = await self.store.shared_domains(conn, candidates, channel.id)
        own = tuple(d for d in candidates if d not in shared)[:MAX_OWN_DOMAINS]
        fingerprint = Fingerprint(channel.id, channel.handle, channel.title,
                                  channel.description,
                                  await self.banked_avatar_pdq(channel.avatar_sha256),
                                  media_pdq,
                                  tokens, label or L.TERRORIST_CONTENT, own)
        async with self.db.write() as conn:
            saved = await self.store.save_fingerprint(conn, fingerprint, cause, self.clock())
        self._cache = None
        return saved

    async def fingerprints(self) -> list[Fingerprint]:
        """Every fingerprint, read at most every ``FINGERPRINTS_FRESH_MS`` (each post of
        every channel is compared): this process's own bans refresh it at once, other
        processes' within that time."""
        now = self.clock()
        if self._cache is None or not 0 <= now - self._cache[0] < FINGERPRINTS_FRESH_MS:
            async with self.db.read() as conn:
                self._cache = (now, await self.store.fingerprints(conn))
        return self._cache[1]

    # -- comparison ----------------------------------------------------------------------
    async def resemblance(self, traits: Traits, exclude: int | None = None
                          ) -> Resemblance | None:
        """The banned channel these traits resemble most (None: nothing matched)."""
        fingerprints = await self.fingerprints()
        if not fingerprints:
            return None
        return closest(traits, fingerprints, exclude)

    async def channel_traits(self, handle: str, title: str, description: str,
                             avatar: str | None) -> Traits:
        return Traits(handle, title, description, await self.avatar_pdq(avatar))

    async def post_resemblance(self, channel: ChannelRecord, text: str,
                               media_signals: Sequence[Signal]) -> Resemblance | None:
        """For a post: does it advertise a banned channel (its handle, a look-alike
        handle, its invite link) anywhere, or, in a channel in its first days, does the
        channel with this post resemble a banned one? Returns the resemblance of the
        post's links alone outside the window. ``media_signals``: the matchable stored
        signals of the post's media (``MediaService.resolve`` read them already)."""
        young = self.clock() - channel.created_at <= limits.RETURNING_FIRST_POSTS_MS
        media_pdq = (tuple(sorted({s.value for s in media_signals if s.signal_type == "pdq"}))
                     if young else ())
        traits = (Traits(channel.handle, channel.title, channel.description,
                         await self.avatar_pdq(channel.avatar_sha256), (text,), media_pdq)
                  if young else Traits(texts=(text,)))
        if not text and not media_pdq:
            return None
        found = await self.resemblance(traits, exclude=channel.id)
        if found is None or not any(s.signal in POST_SIGNALS for s in found.signals):
            return None  # the channel's own details were judged when it was created
        return found

    # -- holds -------------------------------------------------------------------------
    def established(self, channel: ChannelRecord) -> bool:
        """Past its first days: an edit that resembles a banned channel holds the edit,
        not the channel."""
        return self.clock() - channel.created_at > limits.RETURNING_FIRST_POSTS_MS

    async def hold_young_channel(self, channel: ChannelRecord, found: Resemblance,
                                 post_id: int) -> Held | None:
        """A post of a channel in its first days pushed the channel's resemblance over
        the threshold: the channel itself is held (not reachable until released) and a
        case about it names the banned channel and the post. None when the channel is
        established or not visible (already held, banned)."""
        if self.established(channel) or channel.state != VISIBLE:
            return None
        async with self.db.write() as conn:
            await self.channels.update(conn, channel.id, state=HELD)
        return await self.held(replace(channel, state=HELD), found, post_id=post_id)

    async def channel_held(self, channel: ChannelRecord, fired: frozenset[str],
                           found: Resemblance | None,
                           pending: dict[str, Any] | None = None) -> str:
        """Every hold of a channel opens (or joins) a review case, and its owner is told:
        a returning channel's case names the banned one; any other hold (a look-alike
        handle, an owner with an earlier ban, a partner bank's match) names the rules."""
        if found is not None:
            return (await self.held(channel, found, pending)).case_id
        now = self.clock()
        match = {"bank": "RULES", "signal_type": "channel_details", "entry_id": 0,
                 "distance": 0, "labels": [], "ground": "a rule held the channel",
                 "rules": sorted(fired)}
        async with self.db.write() as conn:
            case_id = await open_or_join(conn, self.reports, "channel", str(channel.id),
                                         channel.owner_id, rv.Source.AUTOMATED_HOLD, now,
                                         matches=[match])
        await self._tell_owner(channel, case_id, None, None)
        return case_id

    async def _tell_owner(self, channel: ChannelRecord, case_id: str,
                          pending: dict[str, Any] | None, post_id: int | None) -> None:
        if self.notices is None:
            return
        what = "A change to your channel" if pending else "Your channel"
        await self.notices.deliver(channel.owner_id, CHANNEL_HELD_NOTICE, case_id, {
            "channel": channel.handle, "post_id": post_id,
            "held_edit": sorted(pending) if pending else None,
            "message": f"{what} @{channel.handle} awaits review by a moderator before "
                       "anyone else can see it. You will be told the outcome, with the "
                       "reasons."})

    async def held(self, channel: ChannelRecord, found: Resemblance,
                   pending: dict[str, Any] | None = None, post_id: int | None = None) -> Held:
        """Record the hold, open (or join) the review case about the channel, and tell
        the owner that it awaits review."""
        now = self.clock()
        terrorist = found.label == L.TERRORIST_CONTENT
        match = {"bank": "RETURNING_CHANNELS", "signal_type": "resemblance",
                 "entry_id": found.channel_id, "distance": found.score,
                 "labels": [found.label], "ground": "resembles a banned channel",
                 "resembles": found.json(), "post_id": post_id,
                 "held_edit": sorted(pending) if pending else None}
        async with self.db.write() as conn:
            hold_id = await self.store.add_hold(
                conn, channel_id=channel.id, banned_channel_id=found.channel_id,
                banned_label=found.label, score=found.score,
                signals=[s.json() for s in found.signals], pending=pending, post_id=post_id,
                now=now)
            case_id = await open_or_join(conn, self.reports, "channel", str(channel.id),
                                         channel.owner_id, rv.Source.AUTOMATED_HOLD, now,
                                         terrorist=terrorist, matches=[match])
            await self.store.set_case(conn, hold_id, case_id)
        await self._tell_owner(channel, case_id, pending, post_id)
        return Held(hold_id, case_id)

    async def decided(self, case_id: str, decision: rv.Decision, label: str | None) -> int:
        """A moderator decided a case that holds returning channels: a release applies a
        held edit (the channel's own state is the enforcer's; a ban fingerprints this
        channel too, through ``ActionService.on_ban``). Returns the holds closed."""
        async with self.db.read() as conn:
            holds = [h for h in await self.store.holds_of_case(conn, case_id)
                     if h.state == "held"]
        if not holds or decision is rv.Decision.ESCALATE:
            return 0
        banned = decision is rv.Decision.BAN_CHANNEL
        now = self.clock()
        async with self.db.write() as conn:
            for hold in holds:
                if decision is rv.Decision.NO_VIOLATION and hold.pending:
                    await self.channels.update(conn, hold.channel_id, **hold.pending)
                    channel = await self.channels.by_id(conn, hold.channel_id)
                    if channel is not None:
                        await self.search_index.index_channel(
                            conn, channel.id, channel.handle, channel.title,
                            channel.description)
                await self.store.decide(conn, hold.id, BANNED if banned else RELEASED,
                                        label, now)
        return len(holds)

    # -- the case, side by side ----------------------------------------------------------
    async def side_by_side(self, case_id: str, channel_id: int) -> dict[str, Any] | None:
        """What the moderator compares: the held channel and the banned one it resembles
        (signals and distances), the owner's account age and other channels."""
        async with self.db.read() as conn:
            holds = await self.store.holds_of_case(conn, case_id)
            if not holds:
                return None
            channel = await self.channels.by_id(conn, channel_id)
            banned = {h.banned_channel_id: await self.store.fingerprint(conn,
                                                                        h.banned_channel_id)
                      for h in holds}
            owner = (await self.accounts.user_by_id(conn, channel.owner_id)
                     if channel else None)
            others = (await self.channels.owned_by(conn, channel.owner_id)
                      if channel else [])
        now = self.clock()
        return {
            "channel": None if channel is None else {
                "id": channel.id, "handle": channel.handle, "title": channel.title,
                "description": channel.description, "avatar": channel.avatar_sha256,
                "state": channel.state, "created_at": channel.created_at},
            "owner": None if owner is None else {
                "username": owner.username,
                "account_age_days": max(0, (now - owner.created_at) // MS_PER_DAY),
                "other_channels": [{"handle": c.handle, "state": c.state}
                                   for c in others if channel and c.id != channel.id
                                   ][:OTHER_CHANNELS_SHOWN]},
            "holds": [self._hold_json(h, banned.get(h.banned_channel_id)) for h in holds],
        }

    @staticmethod
    def _hold_json(hold: HoldRecord, banned: Fingerprint | None) -> dict[str, Any]:
        return {"id": hold.id, "state": hold.state, "score": hold.score,
                "signals": hold.signals, "held_edit": hold.pending, "post_id": hold.post_id,
                "resembles": {"channel_id": hold.banned_channel_id, "ground": hold.banned_label,
                              "handle": banned.handle if banned else None,
                              "title": banned.title if banned else None,
                              "description": banned.description if banned else None}}

    async def holds_between(self, since: int, until: int) -> list[HoldRecord]:
        async with self.db.read() as conn:
            return await self.store.holds_between(conn, since, until)

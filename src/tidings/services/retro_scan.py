"""Retroactive matching: when a bank gains entries, re-scan what is already public.

A ``retro_scan`` job (deduplicated per bank) builds a matcher of the bank's entries
added since the given id only, walks visible channel posts (text and media) and
channel metadata (title, description) in batches, and applies the active rules to
each hit as if the content had just been published: a rejected post is removed
(``TakedownService.remove_post``), a held one is hidden for review, a channel whose
metadata is rejected is held, and strikes and thresholds follow. Progress is
written to the job (``GET /api/v1/jobs/{id}``, ``tidings bank scan-status``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa

from tidings.moderation import Matcher, Signal, TextContent
from tidings.moderation import labels as L
from tidings.moderation.engine import Actor, Decision, Surface, Verdict
from tidings.moderation.manifest import signals_for
from tidings.moderation.review import Source
from tidings.moderation.rules import LabelledMatch
from tidings.services.actions import ActionService
from tidings.services.cases import open_or_join
from tidings.services.jobs import JobContext, JobService
from tidings.services.media import MediaService
from tidings.services.moderation import HELD, VISIBLE, ModerationService
from tidings.services.takedowns import TakedownService
from tidings.storage.banks import BankStore, EntryRecord
from tidings.storage.channel_schema import channel_posts, channels
from tidings.storage.reports import ReportStore

RETRO_SCAN: Final = "retro_scan"
SCAN_BATCH: Final = 200
ENTRY_PAGE: Final = 10_000
RETRO_RULE_ACTOR: Final = "system:retro_scan"
RULE_FIELD_MAX: Final = 96
"""Width of the ``rule`` columns of actions and audit records."""


def dedupe_key(bank: str) -> str:
    return f"{RETRO_SCAN}:{bank}"


@dataclass
class ScanTally:
    scanned: int = 0
    removed: int = 0
    held: int = 0
    channels_held: int = 0


class RetroScanner:
    def __init__(self, jobs: JobService, banks: BankStore, moderation: ModerationService,
                 actions: ActionService, takedowns: TakedownService,
                 media: MediaService, reports: ReportStore) -> None:
        self.jobs = jobs
        self.banks = banks
        self.moderation = moderation
        self.actions = actions
        self.takedowns = takedowns
        self.media = media
        self.reports = reports
        self.db = actions.db

    async def entries_added(self, bank: str, added: list[EntryRecord]) -> None:
        """Bank hook: queue one scan per bank (an active one is reused and will read
        every entry after its start id when it runs)."""
        if added:
            await self.jobs.enqueue(RETRO_SCAN, {"bank": bank,
                                                 "after_entry_id": min(e.id for e in added) - 1},
                                    dedupe_key=dedupe_key(bank))

    async def _matcher(self, bank: str, after: int) -> tuple[Matcher, dict[int, EntryRecord]]:
        matcher, entries = Matcher(), {}
        async with self.db.read() as conn:
            while page := await self.banks.list_entries(conn, bank, after, ENTRY_PAGE,
                                                        enabled_only=True):
                for e in page:
                    matcher.add(e.id, e.signal_type, e.value, e.bank)
                    entries[e.id] = e
                after = page[-1].id
        return matcher, entries

    def _matches(self, matcher: Matcher, entries: dict[int, EntryRecord],
                 signals: list[Signal]) -> tuple[LabelledMatch, ...]:
        labels = {i: e.labels for i, e in entries.items()}
        return self.moderation.engine.match_new(matcher, labels, signals)

    async def _signals(self, text: str, media: str) -> list[Signal]:
        signals = list(signals_for(TextContent(text))) if text else []
        ids = [m["sha256"] for m in json.loads(media)]
        if ids:  # the signals stored at upload: nothing is decoded again
            for stored in (await self.media.signals_by_id(ids)).values():
                signals.extend(s.signal() for s in stored if s.matchable)
        return signals

    async def _decide(self, surface: Surface, actor: Actor, signals: list[Signal],
                      matches: tuple[LabelledMatch, ...]) -> Decision:
        """The rules on the new entries' matches only, as if just published."""
        history = await self.actions.history(actor)
        return self.moderation.engine.decide_matched(surface, actor, signals, matches,
                                                     history)

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        bank = str(ctx.payload["bank"])
        matcher, entries = await self._matcher(bank, int(ctx.payload.get("after_entry_id", 0)))
        tally = ScanTally()
        if not entries:
            return tally.__dict__
        async with self.db.read() as conn:
            total = int((await conn.execute(
                sa.select(sa.func.count()).select_from(channel_posts)
                .where(channel_posts.c.state == VISIBLE))).scalar_one())
            total += int((await conn.execute(
                sa.select(sa.func.count()).select_from(channels)
                .where(channels.c.state == VISIBLE))).scalar_one())
        await ctx.progress(0, total)
        await self._scan_posts(ctx, matcher, entries, tally, total)
        await self._scan_channels(ctx, matcher, entries, tally, total)
        await ctx.progress(total, total)
        return tally.__dict__

    async def _scan_posts(self, ctx: JobContext, matcher: Matcher,
                          entries: dict[int, EntryRecord], tally: ScanTally, total: int) -> None:
        cursor = 0
        while True:
            async with self.db.read() as conn:
                rows = (await conn.execute(
                    sa.select(channel_posts.c.id, channel_posts.c.channel_id,
                              channel_posts.c.author_id, channel_posts.c.text,
                              channel_posts.c.media)
                    .where(channel_posts.c.id > cursor, channel_posts.c.state == VISIBLE,
                           channel_posts.c.deleted_at.is_(None))
                    .order_by(channel_posts.c.id).limit(SCAN_BATCH))).all()
            if not rows:
                return
            for post_id, channel_id, author_id, text, media in rows:
                cursor = post_id
                tally.scanned += 1
                signals = await self._signals(text, media)
                matches = self._matches(matcher, entries, signals)
                if not matches or author_id is None:
                    continue
                decision = await self._decide(Surface.POST, Actor(author_id, channel_id),
                                              signals, matches)
                await self._apply_post(post_id, decision, tally)
                if self.moderation.watch is not None:  # counts towards a quarantine
                    await self.moderation.watch(decision)
            await ctx.progress(min(tally.scanned, total), total)

    async def _apply_post(self, post_id: int, decision: Decision, tally: ScanTally) -> None:
        labels = tuple(sorted({lab for m in decision.outcome.matches for lab in m.labels})
                       ) if decision.outcome else ()
        if decision.verdict is Verdict.REJECT:
            fired = ",".join(decision.outcome.fired) if decision.outcome else RETRO_SCAN
            entry_ids = tuple(sorted({m.entry_id for m in decision.outcome.matches})
                              ) if decision.outcome else ()
            await self.takedowns.remove_post(post_id, RETRO_RULE_ACTOR, fired[:RULE_FIELD_MAX],
                                             labels or ("category:other_illegal",),
                                             auto_bank=False, entry_ids=entry_ids)
            tally.removed += 1
        elif decision.verdict is Verdict.HOLD:
            matches = decision.outcome.matches if decision.outcome else ()
            async with self.db.write() as conn:
                await conn.execute(channel_posts.update().where(channel_posts.c.id == post_id)
                                   .values(state=HELD))
                # A held post waits for a moderator: it joins (or opens) its case, with
                # the matches a "no violation" decision is then recorded against.
                await open_or_join(
                    conn, self.reports, "post", str(post_id),
                    decision.actor.user_id if decision.actor else None,
                    Source.AUTOMATED_HOLD, self.actions.clock(),
                    terrorist=L.TERRORIST_CONTENT in labels,
                    matches=[{"bank": m.bank, "signal_type": m.signal_type,
                              "entry_id": m.entry_id, "distance": m.distance,
                              "labels": sorted(m.labels), "ground": "retro-scan hold"}
                             for m in matches])
            tally.held += 1
        await self.actions.apply(decision, content_ref=f"post:{post_id}")

    async def _scan_channels(self, ctx: JobContext, matcher: Matcher,
                             entries: dict[int, EntryRecord], tally: ScanTally,
                             total: int) -> None:
        async with self.db.read() as conn:
            rows = (await conn.execute(
                sa.select(channels.c.id, channels.c.owner_id, channels.c.title,
                          channels.c.description).where(channels.c.state == VISIBLE)
                .order_by(channels.c.id))).all()
        for channel_id, owner_id, title, description in rows:
            tally.scanned += 1
            for surface, text in ((Surface.CHANNEL_TITLE, title),
                                  (Surface.CHANNEL_DESCRIPTION, description)):
                signals = await self._signals(text, "[]")
                matches = self._matches(matcher, entries, signals)
                if not matches:
                    continue
                decision = await self._decide(surface, Actor(owner_id, channel_id),
                                              signals, matches)
                if decision.verdict in (Verdict.REJECT, Verdict.HOLD):
                    async with self.db.write() as conn:
                        await conn.execute(channels.update().where(channels.c.id == channel_id)
                                           .values(state=HELD))
                    tally.channels_held += 1
                await self.actions.apply(decision, content_ref=f"channel:{channel_id}")
                break
            if tally.scanned % SCAN_BATCH == 0:
                await ctx.progress(min(tally.scanned, total), total)

"""The one gate every public surface passes before it is stored or shown.

``ModerationService.check(surface, contents, actor)`` hashes the content, matches the
signals against the enabled banks and returns a decision: allow, reject (with reasons
the publisher sees) or hold for review. Private end-to-end encrypted content never
comes here: the server cannot read it and does not try.

The matches, the actor's history and the flags the caller computed become the
``Facts`` of the active rule set (``moderation/rules.py``, docs/rules.md); the
decision carries the rules' ``Outcome`` (verdict and action requests), which the
gate hands to the action sink (``services/actions.py``). The matcher is kept in
memory and fed by the bank store (see ``services/banks.py``).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tidings.moderation import Match, Matcher, MediaContent, Signal, TextContent, UrlContent
from tidings.moderation import rules as R
from tidings.moderation.actions import Verdict as RuleVerdict
from tidings.moderation.content import HashedMedia
from tidings.moderation.errors import VideoRefusedError
from tidings.moderation.manifest import signals_for
from tidings.moderation.resemblance import Resemblance
from tidings.protocol.errors import Unprocessable

Content = TextContent | MediaContent | UrlContent | HashedMedia

CHECK_IN_THREAD_BYTES = 256 * 1024
"""Content larger than this is hashed off the event loop (PDQ of a photo takes ms)."""


class Surface(StrEnum):
    """Where the content would appear. Rules (later) condition on this."""

    POST = "post"
    EDIT = "edit"
    FORWARD = "forward"
    CHANNEL_HANDLE = "channel_handle"
    CHANNEL_TITLE = "channel_title"
    CHANNEL_DESCRIPTION = "channel_description"
    CHANNEL_AVATAR = "channel_avatar"
    PROFILE_NAME = "profile_name"
    PROFILE_AVATAR = "profile_avatar"
    GROUP_TITLE = "group_title"
    MEDIA = "media"
    """An upload, checked once when it arrives (before any post uses it)."""


class Verdict(StrEnum):
    ALLOW = "allow"
    ALLOW_AND_FLAG = "allow_and_flag"
    REJECT = "reject"
    HOLD = "hold"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who publishes, where, and the facts the caller computed without a bank."""

    user_id: int
    channel_id: int | None = None
    flags: frozenset[str] = frozenset()
    resemblance: Resemblance | None = None
    """The banned channel this channel resembles most (``services/returning.py``)."""


HistoryProvider = Callable[[Actor], Awaitable[R.ActorHistory]]
ActionSink = Callable[["Decision"], Awaitable[dict[str, Any] | None]]
"""Applies a decision's action requests; returns the statement of reasons, if any."""


GROUND_BY_LABEL = {
    "terrorist_content": "terrorist content (Regulation (EU) 2021/784)",
    "violent_extremism": "violent extremist content (terms of service)",
    "other_illegal": "illegal content",
    "spam": "spam (terms of service)",
}


@dataclass(frozen=True, slots=True)
class Reason:
    bank: str
    signal_type: str
    entry_id: int
    distance: int
    labels: tuple[str, ...]
    ground: str


@dataclass(frozen=True, slots=True)
class Suppression:
    """A positive match dropped because the same content is within a negative
    (allow-list) entry's own threshold."""

    match: Match
    by: Match


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    surface: Surface
    reasons: tuple[Reason, ...] = ()
    signals: tuple[Signal, ...] = field(default=(), repr=False)
    outcome: R.Outcome | None = None
    actor: Actor | None = None
    matches: tuple[Match, ...] = ()
    """Every match the rules saw (on enabled, non-negative banks, after suppression)."""
    suppressed: tuple[Suppression, ...] = ()
    """Matches an allow-list (negative bank) entry suppressed: audited and counted."""

    @property
    def allowed(self) -> bool:
        return self.verdict in (Verdict.ALLOW, Verdict.ALLOW_AND_FLAG)

    def message(self) -> str:
        if not self.reasons:
            return ("this cannot be published here" if self.verdict is Verdict.REJECT
                    else "allowed")
        grounds = sorted({r.ground for r in self.reasons})
        return ("this matches content that was identified before as "
                + "; ".join(grounds) + "; it cannot be published here")


@dataclass
class BankInfo:
    name: str
    enabled: bool = True
    threshold: int | None = None
    labels_by_entry: dict[int, tuple[str, ...]] = field(default_factory=dict)
    thresholds_by_type: dict[str, int] = field(default_factory=dict)
    """Per-signal-type overrides; ``threshold`` applies to the types not listed."""
    partner: bool = False
    trusted: bool = False
    negative: bool = False

    @property
    def trust(self) -> str:
        if not self.partner:
            return R.TRUST_OWN
        return R.TRUST_TRUSTED if self.trusted else R.TRUST_PARTNER

    def threshold_for(self, signal_type: str) -> int | None:
        return self.thresholds_by_type.get(signal_type, self.threshold)


class ModerationService:
    def __init__(self, matcher: Matcher | None = None,
                 ruleset: R.RuleSet | None = None,
                 observe: Callable[[Decision], None] | None = None) -> None:
        self.matcher = matcher or Matcher()
        self.observe = observe
        """Told of every decision (the operator's metrics count matches by bank)."""
        self.ruleset = ruleset or R.default_ruleset()
        self.history: HistoryProvider | None = None
        """Set by the action service: active strikes, account age, prior bans."""
        self.sink: ActionSink | None = None
        """Set by the action service: applies the action requests of a decision."""
        self.watch: Callable[[Decision], Awaitable[None]] | None = None
        """Set by partner-signal safety: told of each publishing check that matched."""
        self.banks: dict[str, BankInfo] = {}
        self.checks = 0
        """How many checks ran: tests assert each surface really passed through here."""
        self.checked_surfaces: list[Surface] = []

    def _signals(self, contents: Sequence[Content]) -> list[Signal]:
        out: list[Signal] = []
        for content in contents:
            try:
                out.extend(signals_for(content))
            except VideoRefusedError as exc:  # a video we cannot see is not published
                raise Unprocessable(str(exc), exc.code) from exc
        return out

    async def check(self, surface: Surface, contents: Sequence[Content],
                    actor: Actor | None = None) -> Decision:
        """``HashedMedia`` contents carry signals computed at upload: matched as they
        are, nothing is decoded again."""
        self.checks += 1
        self.checked_surfaces.append(surface)
        if len(self.checked_surfaces) > 1000:
            del self.checked_surfaces[:500]
        size = sum(len(c.data) for c in contents if isinstance(c, MediaContent))
        if size > CHECK_IN_THREAD_BYTES or any(
                isinstance(c, MediaContent) and c.is_video for c in contents):
            items = await asyncio.to_thread(self._items, contents)
        else:
            items = self._items(contents)
        signals = [s for item in items for s in item]
        history = (await self.history(actor) if actor is not None and self.history
                   else R.ActorHistory())
        return self.decide(surface, signals, actor, history, items=items)

    def _items(self, contents: Sequence[Content]) -> list[list[Signal]]:
        """The signals of each content item (a negative entry speaks for its item only)."""
        return [self._signals([c]) for c in contents]

    def _raw_matches(self, signals: Sequence[Signal]) -> list[Match]:
        # One query per signal type: a bank may override the distance per type.
        by_type: dict[str, list[Signal]] = {}
        for signal in signals:
            by_type.setdefault(signal.signal_type, []).append(signal)
        matches: list[Match] = []
        for signal_type, group in by_type.items():
            thresholds = {b.name: limit for b in self.banks.values()
                          if (limit := b.threshold_for(signal_type)) is not None}
            matches.extend(m for m in self.matcher.query(group, thresholds)
                           if self._bank_enabled(m.bank))
        return matches

    def match(self, signals: Sequence[Signal],
              items: Sequence[Sequence[Signal]] | None = None
              ) -> tuple[list[Match], list[Suppression]]:
        """Positive matches, and those an allow-list entry suppressed.

        Each content item (a photo, a text) is matched on its own: when any of its
        signals is within a negative bank entry's threshold (the matcher applies the
        entry's, its bank's or the type's distance), every positive match of that item
        is suppressed, whatever its type (a near copy in the allow list also clears
        the banked original's exact hashes). Other items of the same post are not."""
        positive: dict[int, Match] = {}
        suppressed: list[Suppression] = []
        for group in (items if items is not None else [signals]):
            found = self._raw_matches(group)
            negative = [m for m in found if self._negative(m.bank)]
            for m in found:
                if self._negative(m.bank):
                    continue
                if negative:
                    suppressed.append(Suppression(m, negative[0]))
                elif m.entry_id not in positive or m.distance < positive[m.entry_id].distance:
                    positive[m.entry_id] = m
        matches = sorted(positive.values(), key=lambda m: (m.distance, m.entry_id))
        return matches, suppressed

    def negative_matches(self, signals: Sequence[Signal]) -> list[Match]:
        """Allow-list entries these signals are within the threshold of."""
        return [m for m in self._raw_matches(signals) if self._negative(m.bank)]

    def trust_of(self, bank: str) -> str:
        info = self.banks.get(bank)
        return info.trust if info is not None else R.TRUST_OWN

    def decide(self, surface: Surface, signals: Sequence[Signal], actor: Actor | None = None,
               history: R.ActorHistory | None = None, cause: str | None = None,
               items: Sequence[Sequence[Signal]] | None = None) -> Decision:
        """Match, then evaluate the active rule set on the facts of this check.
        ``items``: the signals grouped by content item (default: one item)."""
        matches, suppressed = self.match(signals, items)
        facts = R.Facts(
            R.Surface(surface.value),
            R.Subject(str(actor.user_id) if actor else "anonymous",
                      str(actor.channel_id) if actor and actor.channel_id else None),
            cause or content_cause(signals),
            tuple(self._labelled(m) for m in matches),
            history or R.ActorHistory(), actor.flags if actor else frozenset(),
            actor.resemblance if actor else None)
        outcome = R.evaluate(self.ruleset, facts)
        cited = {m.entry_id for m in outcome.matches}
        reasons = tuple(self._reason(m) for m in matches if m.entry_id in cited)
        decision = Decision(VERDICT_OF_RULES[outcome.verdict], surface, reasons,
                            tuple(signals), outcome, actor, tuple(matches), tuple(suppressed))
        if self.observe is not None:
            self.observe(decision)
        return decision

    def _labelled(self, match: Match) -> R.LabelledMatch:
        info = self.banks.get(match.bank)
        raw = info.labels_by_entry.get(match.entry_id, ()) if info else ()
        labels = frozenset(full for lab in raw if (full := R.normalize_label(lab)) is not None)
        return R.LabelledMatch.of(match, labels, info.trust if info else R.TRUST_OWN)

    def _negative(self, bank: str) -> bool:
        info = self.banks.get(bank)
        return info is not None and info.negative

    def _bank_enabled(self, bank: str) -> bool:
        info = self.banks.get(bank)
        return info is None or info.enabled

    def _reason(self, match: Match) -> Reason:
        info = self.banks.get(match.bank)
        labels = info.labels_by_entry.get(match.entry_id, ()) if info else ()
        # Taxonomy labels are "category:<name>" (moderation/labels.py).
        names = [lab.removeprefix("category:") for lab in labels]
        top = next((name for name in names if name in GROUND_BY_LABEL), None)
        if top is None and match.bank.startswith("TERROR"):
            top = "terrorist_content"
        ground = GROUND_BY_LABEL.get(top or "", "content banned by the operator")
        return Reason(match.bank, match.signal_type, match.entry_id, match.distance,
                      labels, ground)


VERDICT_OF_RULES = {
    RuleVerdict.ALLOW: Verdict.ALLOW,
    RuleVerdict.ALLOW_AND_FLAG: Verdict.ALLOW_AND_FLAG,
    RuleVerdict.HOLD: Verdict.HOLD,
    RuleVerdict.REJECT: Verdict.REJECT,
}


def content_cause(signals: Sequence[Signal]) -> str:
    """The cause of a check: SHA-256 over the content's sorted signals, so the same
    content checked twice yields the same idempotency keys (docs/rules.md)."""
    blob = "\n".join(sorted(f"{s.signal_type} {s.value}" for s in signals))
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()

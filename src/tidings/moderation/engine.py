"""The moderation engine: what one check decides, from one immutable snapshot.

An :class:`Engine` is a value: the matcher, the banks' settings and entry labels, and
the active rule set. Bank sync and rule reloads build a new one and swap it in whole
(``services/moderation.py``); a check reads the current one once, so the banks, the
labels and the rules it decides with belong together. ``Engine.decide`` matches the
signals of a check, drops disabled banks and what an allow list (negative bank)
suppresses, evaluates the rules on the facts and returns a :class:`Decision`: a verdict,
the rules' outcome (action requests) and the reasons the publisher is shown.

No I/O here: the actor's history comes in as a value, the action requests go out in the
decision, and hashing is the pure ``manifest.signals_for``. The service layer does the
rest (hashing big media off the event loop, the history lookup, applying the actions,
the partner-signal watch). The matcher's indexes are the one part that is not copied
per snapshot: copying them costs O(entries), so bank sync updates them in place in the
same synchronous step that swaps the snapshot (docs/decisions.md "One engine").
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Final

from tidings.moderation import labels as L
from tidings.moderation import rules as R
from tidings.moderation.actions import Verdict
from tidings.moderation.content import Content, Signal
from tidings.moderation.manifest import signals_for
from tidings.moderation.matcher import Match, Matcher
from tidings.moderation.reasons import GROUND_PRIORITY
from tidings.moderation.resemblance import Resemblance
from tidings.moderation.rules import Surface
from tidings.moderation.visibility import PostState

__all__ = [
    "GROUND_OF_LABEL", "OPERATOR_GROUND", "Actor", "BankInfo", "Decision", "Engine", "Reason",
    "Suppression", "Surface", "Verdict",
    "content_cause", "ground_of", "item_signals",
]

#: What the publisher is told a matched entry's category is (the statement of reasons
#: in full is ``moderation/reasons.py``'s; this is the one line a rejection carries).
GROUND_OF_LABEL: Final[Mapping[str, str]] = MappingProxyType({
    L.TERRORIST_CONTENT: "terrorist content (Regulation (EU) 2021/784)",
    L.VIOLENT_EXTREMISM: "violent extremist content (terms of service)",
    L.OTHER_ILLEGAL: "illegal content",
    L.SPAM: "spam (terms of service)",
})
OPERATOR_GROUND: Final = "content banned by the operator"
"""The ground of an entry without a category label (none is stored without one:
``labels.validate_labels``; a hand-built engine may have them)."""


def ground_of(labels: Iterable[str]) -> str:
    """The ground a rejection names for an entry's labels, full (``category:spam``) or
    short (``spam``): the gravest category among them, in the statements' order."""
    full = {n for label in labels if (n := R.normalize_label(label)) is not None}
    return next((GROUND_OF_LABEL[g] for g in GROUND_PRIORITY
                 if g in full and g in GROUND_OF_LABEL), OPERATOR_GROUND)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who publishes, where, and the facts the caller computed without a bank."""

    user_id: int
    channel_id: int | None = None
    flags: frozenset[str] = frozenset()
    resemblance: Resemblance | None = None
    """The banned channel this channel resembles most (``services/returning.py``)."""


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

    @property
    def state(self) -> str:
        """The state to store content the decision lets in: held until a moderator
        decides, or visible."""
        return (PostState.HELD if self.verdict is Verdict.HOLD else PostState.VISIBLE).value

    def message(self) -> str:
        if not self.reasons:
            return ("this cannot be published here" if self.verdict is Verdict.REJECT
                    else "allowed")
        grounds = sorted({r.ground for r in self.reasons})
        return ("this matches content that was identified before as "
                + "; ".join(grounds) + "; it cannot be published here")

    def rejection_details(self) -> dict[str, Any]:
        """What a rejection tells the publisher besides the message: each reason's bank,
        labels, ground and signal type (DSA Art. 17 asks for a ground), and the rules
        that fired under which rule-set version."""
        details: dict[str, Any] = {
            "reasons": [{"bank": r.bank, "labels": list(r.labels), "ground": r.ground,
                         "signal_type": r.signal_type} for r in self.reasons],
            "surface": str(self.surface)}
        if self.outcome is not None:
            details["rules"] = list(self.outcome.fired)
            details["ruleset_version"] = self.outcome.ruleset_version
        return details


@dataclass(frozen=True, slots=True)
class BankInfo:
    """A bank's matching settings and its entries' labels."""

    name: str
    enabled: bool = True
    threshold: int | None = None
    labels_by_entry: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    thresholds_by_type: Mapping[str, int] = field(default_factory=dict)
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


def item_signals(contents: Sequence[Content]) -> list[list[Signal]]:
    """The signals of each content item (a negative entry speaks for its item only).
    ``HashedMedia`` carries signals computed at upload: used as they are. A video that
    cannot be seen raises ``VideoRefusedError``."""
    return [signals_for(c) for c in contents]


def content_cause(signals: Sequence[Signal]) -> str:
    """The cause of a check: SHA-256 over the content's sorted signals, so the same
    content checked twice yields the same idempotency keys (docs/rules.md)."""
    blob = "\n".join(sorted(f"{s.signal_type} {s.value}" for s in signals))
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


def _subject(actor: Actor | None) -> R.Subject:
    return R.Subject(str(actor.user_id) if actor else "anonymous",
                     str(actor.channel_id) if actor and actor.channel_id else None)


@dataclass(frozen=True, slots=True)
class Engine:
    """One snapshot: swap a new one in (``with_rules``, ``with_banks``), never edit it."""

    matcher: Matcher = field(default_factory=Matcher)
    banks: Mapping[str, BankInfo] = field(default_factory=dict)
    ruleset: R.RuleSet = field(default_factory=R.default_ruleset)

    def __post_init__(self) -> None:
        object.__setattr__(self, "banks", MappingProxyType(dict(self.banks)))

    def with_rules(self, ruleset: R.RuleSet) -> Engine:
        return replace(self, ruleset=ruleset)

    def with_banks(self, banks: Mapping[str, BankInfo], matcher: Matcher | None = None
                   ) -> Engine:
        return replace(self, banks=banks, matcher=self.matcher if matcher is None else matcher)

    # --- matching ------------------------------------------------------------------
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

    def match_new(self, matcher: Matcher, labels: Mapping[int, tuple[str, ...]],
                  signals: Sequence[Signal]) -> tuple[R.LabelledMatch, ...]:
        """Matches against ``matcher`` (a bank's new entries, for a retro-scan) under
        this snapshot's bank thresholds, quarantine and allow lists."""
        thresholds: dict[str, int] = {}
        for signal in signals:
            for name, b in self.banks.items():
                if (limit := b.threshold_for(signal.signal_type)) is not None:
                    thresholds[name] = limit
        out = []
        for m in matcher.query(signals, thresholds):
            if m.entry_id in self.matcher.quarantined:
                continue
            found = frozenset(n for lab in labels[m.entry_id]
                              if (n := R.normalize_label(lab)) is not None)
            out.append(R.LabelledMatch.of(m, found, self.trust_of(m.bank)))
        if out and self.negative_matches(signals):
            return ()  # an allow-list entry clears this content (docs/matching.md)
        return tuple(out)

    def trust_of(self, bank: str) -> str:
        info = self.banks.get(bank)
        return info.trust if info is not None else R.TRUST_OWN

    # --- deciding ------------------------------------------------------------------
    def decide(self, surface: Surface, signals: Sequence[Signal], actor: Actor | None = None,
               history: R.ActorHistory | None = None, cause: str | None = None,
               items: Sequence[Sequence[Signal]] | None = None) -> Decision:
        """Match, then evaluate the active rule set on the facts of this check.
        ``items``: the signals grouped by content item (default: one item)."""
        matches, suppressed = self.match(signals, items)
        return self.decide_on(surface, signals, matches, suppressed, actor, history, cause)

    def needs_history(self, surface: Surface, matched: bool, actor: Actor | None) -> bool:
        """Whether the actor's history can change this check's outcome: always when
        something matched (rules test strikes and account age, strikes escalate), and
        otherwise only when some rule can fire on unmatched content for this surface,
        these flags and this resemblance (the gate then skips the history lookup, a
        database read, for the common case: an innocent post)."""
        if actor is None:
            return False
        if matched:
            return True
        return any(rule.condition.may_fire_unmatched(surface, actor.flags, actor.resemblance)
                   for rule in self.ruleset.rules)

    def decide_on(self, surface: Surface, signals: Sequence[Signal], matches: Sequence[Match],
                  suppressed: Sequence[Suppression], actor: Actor | None = None,
                  history: R.ActorHistory | None = None, cause: str | None = None
                  ) -> Decision:
        """The rule set on matches this snapshot found (``match``)."""
        facts = R.Facts(
            surface, _subject(actor), cause or content_cause(signals),
            tuple(self._labelled(m) for m in matches),
            history or R.ActorHistory(), actor.flags if actor else frozenset(),
            actor.resemblance if actor else None)
        outcome = R.evaluate(self.ruleset, facts)
        cited = {m.entry_id for m in outcome.matches}
        reasons = tuple(self._reason(m) for m in matches if m.entry_id in cited)
        return Decision(outcome.verdict, surface, reasons, tuple(signals), outcome, actor,
                        tuple(matches), tuple(suppressed))

    def decide_matched(self, surface: Surface, actor: Actor, signals: Sequence[Signal],
                       matches: tuple[R.LabelledMatch, ...], history: R.ActorHistory
                       ) -> Decision:
        """The rules on matches found elsewhere (a retro-scan's new entries only), as if
        the content were just published."""
        facts = R.Facts(surface, R.Subject(str(actor.user_id), str(actor.channel_id)),
                        content_cause(signals), matches, history, actor.flags)
        outcome = R.evaluate(self.ruleset, facts)
        found = tuple(Match(m.entry_id, m.bank, m.signal_type, m.value, m.distance)
                      for m in matches)
        return Decision(outcome.verdict, surface, (), tuple(signals), outcome, actor, found)

    def _labels(self, match: Match) -> tuple[str, ...]:
        info = self.banks.get(match.bank)
        return info.labels_by_entry.get(match.entry_id, ()) if info else ()

    def _labelled(self, match: Match) -> R.LabelledMatch:
        labels = frozenset(full for lab in self._labels(match)
                           if (full := R.normalize_label(lab)) is not None)
        return R.LabelledMatch.of(match, labels, self.trust_of(match.bank))

    def _negative(self, bank: str) -> bool:
        info = self.banks.get(bank)
        return info is not None and info.negative

    def _bank_enabled(self, bank: str) -> bool:
        info = self.banks.get(bank)
        return info is None or info.enabled

    def _reason(self, match: Match) -> Reason:
        labels = self._labels(match)
        return Reason(match.bank, match.signal_type, match.entry_id, match.distance,
                      labels, ground_of(labels))

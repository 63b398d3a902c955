"""Rules: a small TOML language that turns matches and history into action requests.

Issue #7. A rule set is data the operator edits, validated on load with errors
that name the rule and the key; evaluation is a pure function of the rule set
and the facts of one check, so a decision can be replayed from its inputs.
Every request records the rule and rule-set version that fired: DSA Art. 17(3)(c)
asks whether automated means took the decision, and Art. 15(1)(c) asks for
own-initiative measures by type. Strike thresholds escalate to channel bans and
account suspensions, the "repeat infringer" measures of DSA Art. 23(1).

See docs/rules.md for the language; ``data/default_rules.toml`` for the defaults.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from typing import Any, Final

from tidings.moderation.actions import (
    TARGET_OF_ACTION,
    VERDICT_OF_ACTION,
    ActionError,
    ActionKind,
    ActionRequest,
    ActionSpec,
    TargetKind,
    Verdict,
    combine,
    dedupe,
    parse_action,
)
from tidings.moderation.errors import ModerationError
from tidings.moderation.labels import ALL_LABELS, BEHAVIOURS, CATEGORIES
from tidings.moderation.matcher import Match
from tidings.moderation.resemblance import Resemblance

_RULE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
#: ``*``, an exact bank name, or a bank-name prefix ending in ``*``.
_BANK_PATTERN = re.compile(r"\*|[A-Z][A-Z0-9_]{2,63}|[A-Z][A-Z0-9_]{0,62}\*")
MAX_RULES: Final = 1_000
#: Thresholds a rule set may set, and the action each one triggers.
THRESHOLD_ACTIONS: Final = (ActionKind.BAN_CHANNEL, ActionKind.SUSPEND_ACCOUNT)
DEFAULT_THRESHOLDS: Final = {ActionKind.BAN_CHANNEL: 3, ActionKind.SUSPEND_ACCOUNT: 5}
#: Where a matched entry's bank comes from (``when.match.trust``): the operator's own
#: banks, partner (exchange-sourced) banks, partner banks the operator marked trusted.
TRUST_OWN: Final = "own"
TRUST_PARTNER: Final = "partner"
TRUST_TRUSTED: Final = "trusted"
TRUST_LEVELS: Final = (TRUST_OWN, TRUST_PARTNER, TRUST_TRUSTED)
#: Facts the service computes without a bank (``when.flags``).
KNOWN_FLAGS: Final = frozenset({"new_channel", "lookalike_handle", "new_account"})
ESCALATION_RULE_PREFIX: Final = "threshold:"
DEFAULT_RULES_RESOURCE: Final = "data/default_rules.toml"


class Surface(StrEnum):
    """Where content would appear: the one definition (the engine, the service gate and
    ``when.surface`` all use it)."""

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


class RuleError(ModerationError, ValueError):
    """A rule set failed validation; ``rule`` and ``key`` say where."""

    code = "invalid_rule"

    def __init__(self, rule: str, key: str, message: str) -> None:
        super().__init__(f"rule {rule!r}: {key}: {message}")
        self.rule = rule
        self.key = key
        self.message = message


# --- values ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LabelledMatch:
    """A matcher ``Match`` plus its entry's labels (the matcher knows no labels)."""

    entry_id: int
    bank: str
    signal_type: str
    value: str
    distance: int
    labels: frozenset[str] = frozenset()
    trust: str = TRUST_OWN
    """``own``, ``partner`` or ``trusted``: where the entry's bank comes from."""

    @classmethod
    def of(cls, match: Match, labels: frozenset[str], trust: str = TRUST_OWN
           ) -> LabelledMatch:
        return cls(match.entry_id, match.bank, match.signal_type, match.value,
                   match.distance, labels, trust)


@dataclass(frozen=True, slots=True)
class ActorHistory:
    active_strikes: int = 0
    account_age_days: int = 0
    prior_owner_bans: int = 0
    """Channels of this owner banned before (any reason, still in force)."""


@dataclass(frozen=True, slots=True)
class Subject:
    """Who and what the check is about; ids are the service's opaque strings."""

    account_id: str
    channel_id: str | None = None
    content_ref: str | None = None


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything a rule may look at. ``matches`` are matches on enabled banks
    only (the gate drops disabled banks); ``cause`` identifies the triggering
    event (e.g. the content's SHA-256) and feeds the idempotency keys."""

    surface: Surface
    subject: Subject
    cause: str
    matches: tuple[LabelledMatch, ...] = ()
    actor: ActorHistory = ActorHistory()
    flags: frozenset[str] = frozenset()
    resemblance: Resemblance | None = None
    """The banned channel this channel (or post in a young channel) resembles most,
    computed by the service over the fingerprints of banned channels (issue 24)."""


@dataclass(frozen=True, slots=True)
class ResemblanceCondition:
    """``when.resembles_banned_channel``: the resemblance score reaches ``min_score``
    (and, optionally, the banned channel's ground is one of ``labels``)."""

    min_score: int
    labels: frozenset[str] = frozenset()

    def accepts(self, r: Resemblance | None) -> bool:
        if r is None or r.score < self.min_score:
            return False
        return not self.labels or r.label in self.labels


@dataclass(frozen=True, slots=True)
class MatchCondition:
    banks: tuple[str, ...] = ()
    labels: frozenset[str] = frozenset()
    max_distance: int | None = None
    signal_types: frozenset[str] = frozenset()
    except_signal_types: frozenset[str] = frozenset()
    """Types this condition ignores, e.g. opt-in slogans that the defaults hold
    for review while every other match rejects."""
    trust: frozenset[str] = frozenset()
    """Trust levels of the matched entry's bank (``TRUST_LEVELS``); empty: any."""

    def accepts(self, m: LabelledMatch) -> bool:
        if m.signal_type in self.except_signal_types:
            return False
        if self.trust and m.trust not in self.trust:
            return False
        if self.banks and not any(_bank_matches(p, m.bank) for p in self.banks):
            return False
        if self.labels and not self.labels & m.labels:
            return False
        if self.max_distance is not None and m.distance > self.max_distance:
            return False
        return not self.signal_types or m.signal_type in self.signal_types


@dataclass(frozen=True, slots=True)
class ActorCondition:
    min_strikes: int | None = None
    max_strikes: int | None = None
    min_account_age_days: int | None = None
    max_account_age_days: int | None = None
    min_prior_owner_bans: int | None = None
    max_prior_owner_bans: int | None = None

    def accepts(self, a: ActorHistory) -> bool:
        checks = (
            (self.min_strikes, self.max_strikes, a.active_strikes),
            (self.min_account_age_days, self.max_account_age_days, a.account_age_days),
            (self.min_prior_owner_bans, self.max_prior_owner_bans, a.prior_owner_bans),
        )
        return all((lo is None or v >= lo) and (hi is None or v <= hi) for lo, hi, v in checks)


@dataclass(frozen=True, slots=True)
class Condition:
    match: MatchCondition | None = None
    no_match: bool = False
    surfaces: frozenset[Surface] = frozenset()
    actor: ActorCondition = ActorCondition()
    flags: frozenset[str] = frozenset()
    resembles: ResemblanceCondition | None = None

    def may_fire_unmatched(self, surface: Surface, flags: frozenset[str],
                           resemblance: Resemblance | None) -> bool:
        """Could this condition fire on content that matched nothing, for some actor
        history? (When no rule could, the gate need not look the history up.)"""
        if self.surfaces and surface not in self.surfaces:
            return False
        if not self.flags <= flags:
            return False
        if self.resembles is not None and not self.resembles.accepts(resemblance):
            return False
        return self.no_match or self.match is None

    def check(self, facts: Facts) -> tuple[LabelledMatch, ...] | None:
        """The matches that satisfy the rule (possibly none), or None: no fire."""
        if self.surfaces and facts.surface not in self.surfaces:
            return None
        if not self.flags <= facts.flags or not self.actor.accepts(facts.actor):
            return None
        if self.resembles is not None and not self.resembles.accepts(facts.resemblance):
            return None
        if self.no_match:
            return () if not facts.matches else None
        if self.match is None:
            return ()
        hits = tuple(m for m in facts.matches if self.match.accepts(m))
        return hits or None


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    condition: Condition
    actions: tuple[ActionSpec, ...]
    description: str = ""


@dataclass(frozen=True, slots=True)
class RuleSet:
    version: int
    rules: tuple[Rule, ...]
    thresholds: Mapping[ActionKind, int] = field(
        default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    content_hash: str = ""
    """SHA-256 of the canonical form: comments and key order do not change it."""


@dataclass(frozen=True, slots=True)
class Outcome:
    verdict: Verdict
    requests: tuple[ActionRequest, ...]
    fired: tuple[str, ...]
    ruleset_version: int
    ruleset_hash: str
    matches: tuple[LabelledMatch, ...] = ()
    """Matches that made some rule fire: the facts of the statement of reasons."""
    thresholds: Mapping[ActionKind, int] = field(default_factory=dict)
    """The rule set's strike thresholds, so the service can check, against the strikes
    it really stored, that a threshold measure is due (a repeated attempt whose strike
    was already counted must not reach a threshold: issue 17)."""

    @property
    def automated(self) -> bool:
        return bool(self.fired)


# --- loading ---------------------------------------------------------------


def _bank_matches(pattern: str, bank: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith("*"):
        return bank.startswith(pattern[:-1])
    return bank == pattern


def normalize_label(label: str) -> str | None:
    """``terrorist_content`` -> ``category:terrorist_content``; full labels pass."""
    if label in ALL_LABELS:
        return label
    for candidate in (f"category:{label}", f"behaviour:{label}"):
        if candidate in CATEGORIES | BEHAVIOURS:
            return candidate
    return None


class _Reader:
    """Reads one table, remembering the dotted key path for error messages."""

    def __init__(self, rule: str, path: str, table: Mapping[str, Any], allowed: set[str]) -> None:
        self.rule, self.path, self.table = rule, path, table
        for key in table:
            if key not in allowed:
                raise RuleError(rule, self._key(key), f"unknown key (known: {sorted(allowed)})")

    def _key(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, message: str) -> RuleError:
        return RuleError(self.rule, self._key(key), message)

    def int_(self, key: str, minimum: int = 0) -> int | None:
        v = self.table.get(key)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            raise self.fail(key, f"must be an integer >= {minimum}")
        return v

    def strings(self, key: str) -> list[str]:
        v = self.table.get(key, [])
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
            raise self.fail(key, "must be a string or a list of strings")
        return list(v)

    def table_(self, key: str, allowed: set[str]) -> _Reader | None:
        v = self.table.get(key)
        if v is None:
            return None
        if not isinstance(v, dict):
            raise self.fail(key, "must be a table")
        return _Reader(self.rule, self._key(key), v, allowed)


def _match_condition(r: _Reader) -> MatchCondition:
    banks = r.strings("bank")
    for pattern in banks:
        if not _BANK_PATTERN.fullmatch(pattern):
            raise r.fail("bank", f"bad bank pattern {pattern!r}: use NAME, PREFIX* or *")
    labels: set[str] = set()
    for label in r.strings("labels"):
        full = normalize_label(label)
        if full is None:
            raise r.fail("labels", f"unknown label {label!r}")
        labels.add(full)
    trust = set(r.strings("trust"))
    if trust - set(TRUST_LEVELS):
        raise r.fail("trust", f"unknown trust {sorted(trust - set(TRUST_LEVELS))} "
                              f"(known: {', '.join(TRUST_LEVELS)})")
    return MatchCondition(tuple(banks), frozenset(labels), r.int_("max_distance"),
                          frozenset(r.strings("signal_type")),
                          frozenset(r.strings("except_signal_type")), frozenset(trust))


def _condition(rule: str, when: Any) -> Condition:
    if not isinstance(when, dict) or not when:
        raise RuleError(rule, "when", "a non-empty table is required (an empty one fires always)")
    r = _Reader(rule, "when", when, {"match", "no_match", "surface", "actor", "flags",
                                     "resembles_banned_channel"})
    m = r.table_("match", {"bank", "labels", "max_distance", "signal_type",
                           "except_signal_type", "trust"})
    no_match = when.get("no_match", False)
    if not isinstance(no_match, bool):
        raise r.fail("no_match", "must be true or false")
    if m is not None and no_match:
        raise r.fail("no_match", "cannot be combined with when.match")
    surfaces: set[Surface] = set()
    for s in r.strings("surface"):
        try:
            surfaces.add(Surface(s))
        except ValueError:
            raise r.fail("surface", f"unknown surface {s!r}") from None
    flags = set(r.strings("flags"))
    if flags - KNOWN_FLAGS:
        raise r.fail("flags", f"unknown flags {sorted(flags - KNOWN_FLAGS)}")
    a = r.table_("actor", {"min_strikes", "max_strikes", "min_account_age_days",
                           "max_account_age_days", "min_prior_owner_bans",
                           "max_prior_owner_bans"})
    actor = ActorCondition() if a is None else ActorCondition(
        a.int_("min_strikes"), a.int_("max_strikes"), a.int_("min_account_age_days"),
        a.int_("max_account_age_days"), a.int_("min_prior_owner_bans"),
        a.int_("max_prior_owner_bans"))
    return Condition(None if m is None else _match_condition(m), no_match,
                     frozenset(surfaces), actor, frozenset(flags), _resembles(r))


def _resembles(r: _Reader) -> ResemblanceCondition | None:
    t = r.table_("resembles_banned_channel", {"min_score", "labels"})
    if t is None:
        return None
    score = t.int_("min_score", minimum=1)
    if score is None:
        raise t.fail("min_score", "required (the resemblance score that fires the rule)")
    labels: set[str] = set()
    for label in t.strings("labels"):
        full = normalize_label(label)
        if full is None:
            raise t.fail("labels", f"unknown label {label!r}")
        labels.add(full)
    return ResemblanceCondition(score, frozenset(labels))


def _rule(index: int, raw: Any, seen: set[str]) -> Rule:
    if not isinstance(raw, dict):
        raise RuleError(f"#{index}", "rule", "must be a table")
    name = raw.get("name")
    if not isinstance(name, str) or not _RULE_NAME.fullmatch(name):
        raise RuleError(f"#{index}", "name", "required; lowercase letters, digits, - and _")
    if name in seen:
        raise RuleError(name, "name", "duplicate rule name")
    seen.add(name)
    r = _Reader(name, "", raw, {"name", "description", "when", "then"})
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise r.fail("description", "must be a string")
    then = r.strings("then")
    if not then:
        raise r.fail("then", "at least one action is required")
    actions: list[ActionSpec] = []
    for literal in then:
        try:
            actions.append(parse_action(literal))
        except ActionError as exc:
            raise r.fail("then", str(exc)) from None
    return Rule(name, _condition(name, raw.get("when")), tuple(actions), description)


def _canonical(version: int, rules: Sequence[Rule], thresholds: Mapping[ActionKind, int]) -> str:
    def cond(c: Condition) -> object:
        m = c.match
        return {
            # except_signal_type only when used, so older rule sets keep their hash.
            "match": None if m is None else [list(m.banks), sorted(m.labels), m.max_distance,
                                             sorted(m.signal_types)]
            + ([sorted(m.except_signal_types)] if m.except_signal_types else [])
            + ([{"trust": sorted(m.trust)}] if m.trust else []),
            "no_match": c.no_match, "surface": sorted(c.surfaces),
            "actor": list(_actor_tuple(c.actor)), "flags": sorted(c.flags),
        } | ({} if c.resembles is None else {  # only when used: older hashes stay
            "resembles": [c.resembles.min_score, sorted(c.resembles.labels)]})
    body = {
        "version": version,
        "thresholds": {k.value: v for k, v in sorted(thresholds.items())},
        "rules": [[r.name, r.description, cond(r.condition), [a.literal() for a in r.actions]]
                  for r in rules],
    }
    blob = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def _actor_tuple(a: ActorCondition) -> tuple[int | None, ...]:
    return (a.min_strikes, a.max_strikes, a.min_account_age_days, a.max_account_age_days,
            a.min_prior_owner_bans, a.max_prior_owner_bans)


def load_ruleset(text: str) -> RuleSet:
    """Parse and validate a TOML rule set. Raises ``RuleError``."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError("-", "toml", str(exc)) from None
    top = _Reader("-", "", doc, {"version", "rule", "thresholds"})
    version = top.int_("version", minimum=1)
    if version is None:
        raise top.fail("version", "required")
    raw_rules = doc.get("rule", [])
    if not isinstance(raw_rules, list) or len(raw_rules) > MAX_RULES:
        raise top.fail("rule", f"must be an array of at most {MAX_RULES} tables")
    seen: set[str] = set()
    rules = tuple(_rule(i, raw, seen) for i, raw in enumerate(raw_rules))
    thresholds = dict(DEFAULT_THRESHOLDS)
    t = top.table_("thresholds", {k.value for k in THRESHOLD_ACTIONS})
    if t is not None:
        for key in t.table:
            value = t.int_(key, minimum=1)
            assert value is not None
            thresholds[ActionKind(key)] = value
    return RuleSet(version, rules, thresholds, _canonical(version, rules, thresholds))


def resemblance_rules(ruleset: RuleSet) -> frozenset[str]:
    """The names of the rules that look at ``resembles_banned_channel``."""
    return frozenset(r.name for r in ruleset.rules if r.condition.resembles is not None)


def default_rules_text() -> str:
    """The shipped default rule set (package data, read-only)."""
    return (resources.files("tidings.moderation") / DEFAULT_RULES_RESOURCE).read_text("utf-8")


def default_ruleset() -> RuleSet:
    return load_ruleset(default_rules_text())


# --- evaluation ------------------------------------------------------------


def escalate(active_strikes: int,
             thresholds: Mapping[ActionKind, int] = DEFAULT_THRESHOLDS) -> list[ActionKind]:
    """Measures due at this many active strikes, mildest first (DSA Art. 23(1))."""
    due = [kind for kind in THRESHOLD_ACTIONS
           if kind in thresholds and active_strikes >= thresholds[kind]]
    return sorted(due, key=lambda k: thresholds[k])


def _target(kind: ActionKind, facts: Facts) -> str | None:
    match TARGET_OF_ACTION[kind]:
        case TargetKind.CONTENT:
            return f"content:{facts.subject.content_ref or facts.cause}"
        case TargetKind.CHANNEL:
            cid = facts.subject.channel_id
            return None if cid is None else f"channel:{cid}"
        case TargetKind.ACCOUNT:
            return f"account:{facts.subject.account_id}"


def evaluate(ruleset: RuleSet, facts: Facts) -> Outcome:
    """Every rule whose condition holds fires; all their requests are returned,
    deduplicated by idempotency key, and the strictest verdict wins. Strikes
    added here are summed with the actor's active strikes and any threshold
    reached adds its measure, attributed to ``threshold:<action>``. An action
    whose target is absent (a channel ban outside a channel) is skipped."""
    requests: list[ActionRequest] = []
    fired: list[str] = []
    verdicts: list[Verdict] = []
    cause_matches: dict[int, LabelledMatch] = {}
    for rule in ruleset.rules:
        hits = rule.condition.check(facts)
        if hits is None:
            continue
        fired.append(rule.name)
        cause_matches.update((m.entry_id, m) for m in hits)
        entry_ids = tuple(sorted(m.entry_id for m in hits))
        for spec in rule.actions:
            target = _target(spec.kind, facts)
            if target is None:
                continue
            requests.append(ActionRequest.create(spec, rule.name, ruleset.version, target,
                                                 facts.cause, entry_ids))
            if spec.kind in VERDICT_OF_ACTION:
                verdicts.append(VERDICT_OF_ACTION[spec.kind])
    requests = dedupe(requests)
    added = sum(r.weight for r in requests if r.kind is ActionKind.STRIKE)
    if added:
        for kind in escalate(facts.actor.active_strikes + added, ruleset.thresholds):
            target = _target(kind, facts)
            if target is not None:
                requests.append(ActionRequest.create(
                    ActionSpec(kind), ESCALATION_RULE_PREFIX + kind.value, ruleset.version,
                    target, facts.cause))
    return Outcome(combine(verdicts), tuple(dedupe(requests)), tuple(fired), ruleset.version,
                   ruleset.content_hash, tuple(cause_matches[k] for k in sorted(cause_matches)),
                   dict(ruleset.thresholds))

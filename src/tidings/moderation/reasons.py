"""Statements of reasons (DSA Art. 17) for every restriction Tidings imposes.

Art. 17(3) lists what a statement contains; the fields below follow it in order:
(a) the restriction, its territorial scope and duration; (b) the facts and
circumstances relied on, including whether a notice (Art. 16) or an order
triggered it; (c) whether automated means detected it and decided it; (d) the
legal ground with an explanation, or (e) the contractual (terms of service)
ground with an explanation; (f) the redress available: the internal complaint
system (Art. 20), out-of-court dispute settlement (Art. 21) and judicial redress.
Art. 17(4): clear, specific, understandable — and no personal data of others,
so facts name banks, labels and rules, never reporters.

Built here as values; ``sor_export`` turns them into the Transparency Database
format (Art. 24(5)); ``render_text`` is what the user sees.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from tidings.moderation import labels as L
from tidings.moderation.actions import ActionKind, ActionRequest
from tidings.moderation.errors import ModerationError
from tidings.moderation.review import APPEAL_WINDOW_MONTHS, Case, Decision, Source, add_months
from tidings.moderation.rules import Outcome

#: EU member states plus Iceland, Liechtenstein and Norway: the default scope.
EEA: Final = ("AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR",
              "HU", "IE", "IS", "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT",
              "RO", "SE", "SI", "SK")
#: Grounds without a bank label (rules on flags and history).
IMPERSONATION: Final = "policy:impersonation"
HARASSMENT: Final = "policy:harassment"
BAN_EVASION: Final = "policy:ban_evasion"
OTHER_POLICY: Final = "policy:other"


class ReasonsError(ModerationError, ValueError):
    code = "invalid_statement_of_reasons"


class Restriction(StrEnum):
    CONTENT_REMOVED = "content_removed"
    CONTENT_DISABLED = "content_disabled"
    """Not shown while under review (a hold)."""
    SERVICE_PARTIALLY_TERMINATED = "service_partially_terminated"
    """A channel banned: the owner keeps the account, loses that channel."""
    ACCOUNT_SUSPENDED = "account_suspended"
    ACCOUNT_TERMINATED = "account_terminated"


class GroundKind(StrEnum):
    ILLEGAL = "illegal"
    INCOMPATIBLE = "incompatible"


class DetectionSource(StrEnum):
    VOLUNTARY = "voluntary"
    NOTICE = "notice"
    """A notice under DSA Art. 16 (a user report, or a verified private report)."""
    TRUSTED_FLAGGER = "trusted_flagger"
    ORDER = "order"
    """A removal order (TCO Art. 3) or an order under DSA Art. 9."""


class Automation(StrEnum):
    FULLY = "fully"
    PARTIALLY = "partially"
    NOT_AUTOMATED = "not_automated"


class ContentKind(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    LINK = "link"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Ground:
    kind: GroundKind
    reference: str
    explanation: str
    label: str
    """The taxonomy label (``category:…``) or ``policy:…`` this ground stands for."""


GROUNDS: Final = {
    L.TERRORIST_CONTENT: Ground(
        GroundKind.ILLEGAL,
        "Regulation (EU) 2021/784, Art. 2(7); Directive (EU) 2017/541, Arts. 3 to 12",
        "The content is terrorist content: material that glorifies, incites, solicits or "
        "instructs in terrorist offences. (How it was found, e.g. a match on known "
        "material, is under \"What we relied on\".)", L.TERRORIST_CONTENT),
    L.OTHER_ILLEGAL: Ground(
        GroundKind.ILLEGAL,
        "Illegal content under Union or Member State law (Regulation (EU) 2022/2065, Art. 3(h))",
        "The content is illegal under applicable law.",
        L.OTHER_ILLEGAL),
    L.VIOLENT_EXTREMISM: Ground(
        GroundKind.INCOMPATIBLE, "Terms of service: violent extremism",
        "The content promotes violent extremism, which the terms of service do not allow.",
        L.VIOLENT_EXTREMISM),
    L.SPAM: Ground(
        GroundKind.INCOMPATIBLE, "Terms of service: spam and platform manipulation",
        "The content is spam.", L.SPAM),
    HARASSMENT: Ground(
        GroundKind.INCOMPATIBLE, "Terms of service: harassment",
        "The content harasses, threatens or intimidates a person, which the terms of "
        "service do not allow.", HARASSMENT),
    IMPERSONATION: Ground(
        GroundKind.INCOMPATIBLE, "Terms of service: impersonation",
        "The name can be confused with an existing channel or profile.", IMPERSONATION),
    BAN_EVASION: Ground(
        GroundKind.INCOMPATIBLE, "Terms of service: ban evasion",
        "The channel continues a banned channel: an earlier channel of the same owner "
        "was banned, or it resembles a banned channel.", BAN_EVASION),
    OTHER_POLICY: Ground(
        GroundKind.INCOMPATIBLE, "Terms of service", "The content breaks the terms of service.",
        OTHER_POLICY),
}
#: When several grounds apply, the statement names the gravest one.
GROUND_PRIORITY: Final = (L.TERRORIST_CONTENT, L.OTHER_ILLEGAL, L.VIOLENT_EXTREMISM,
                          HARASSMENT, L.SPAM, BAN_EVASION, IMPERSONATION, OTHER_POLICY)
_FLAG_GROUND: Final = {"lookalike_handle": IMPERSONATION, "new_channel": BAN_EVASION,
                       "returning_channel": BAN_EVASION}
_SOURCE: Final = {
    Source.LEGAL_ORDER: DetectionSource.ORDER,
    Source.TRUSTED_FLAGGER: DetectionSource.TRUSTED_FLAGGER,
    Source.VERIFIED_PRIVATE_REPORT: DetectionSource.NOTICE,
    Source.USER_REPORT: DetectionSource.NOTICE,
    Source.AUTOMATED_HOLD: DetectionSource.VOLUNTARY,
}
_RESTRICTION_OF_ACTION: Final = {
    ActionKind.REJECT: Restriction.CONTENT_REMOVED,
    ActionKind.HOLD: Restriction.CONTENT_DISABLED,
    ActionKind.BAN_CHANNEL: Restriction.SERVICE_PARTIALLY_TERMINATED,
    ActionKind.SUSPEND_ACCOUNT: Restriction.ACCOUNT_SUSPENDED,
}
_RESTRICTION_OF_DECISION: Final = {
    Decision.REMOVE: (Restriction.CONTENT_REMOVED,),
    Decision.BAN_CHANNEL: (Restriction.SERVICE_PARTIALLY_TERMINATED,),
    Decision.SUSPEND_ACCOUNT: (Restriction.ACCOUNT_SUSPENDED,),
}


@dataclass(frozen=True, slots=True)
class Redress:
    complaint_until_ms: int | None
    """Internal complaint (DSA Art. 20) open until then; None when not available."""
    out_of_court: bool = True
    judicial: bool = True


@dataclass(frozen=True, slots=True)
class StatementOfReasons:
    statement_id: str
    restrictions: tuple[Restriction, ...]
    territorial_scope: tuple[str, ...]
    starts_ms: int
    ends_ms: int | None
    facts: str
    content_kinds: tuple[ContentKind, ...]
    content_created_ms: int
    automated_detection: bool
    automated_decision: Automation
    ground: Ground
    source: DetectionSource
    redress: Redress
    source_identity: str | None = None
    """Only for trusted flaggers and authorities; never a private reporter (Art. 17(4))."""
    content_language: str | None = None
    business_account: bool = False
    category: str | None = None
    """The DSA statement category an order named (None: the ground's label decides)."""

    def __post_init__(self) -> None:
        if not self.restrictions:
            raise ReasonsError("a statement of reasons needs at least one restriction")
        if not self.facts.strip():
            raise ReasonsError("facts and circumstances are required (Art. 17(3)(b))")
        if self.ends_ms is not None and self.ends_ms < self.starts_ms:
            raise ReasonsError("the restriction ends before it starts")


def pick_ground(candidates: Sequence[str]) -> Ground:
    for label in GROUND_PRIORITY:
        if label in candidates:
            return GROUNDS[label]
    return GROUNDS[OTHER_POLICY]


def from_outcome(outcome: Outcome, statement_id: str, content_kinds: Sequence[ContentKind],
                 content_created_ms: int, now_ms: int, flags: frozenset[str] = frozenset(),
                 territorial_scope: Sequence[str] = EEA) -> StatementOfReasons | None:
    """Statement for what the rules engine did on its own (fully automated);
    None when it restricted nothing (allow, allow_and_flag)."""
    restrictive = [r for r in outcome.requests if r.kind in _RESTRICTION_OF_ACTION]
    if not restrictive:
        return None
    labels = [lab for m in outcome.matches for lab in m.labels]
    labels += [_FLAG_GROUND[f] for f in sorted(flags) if f in _FLAG_GROUND]
    ground = pick_ground(labels)
    return StatementOfReasons(
        statement_id, tuple(dict.fromkeys(_RESTRICTION_OF_ACTION[r.kind] for r in restrictive)),
        tuple(territorial_scope), now_ms, _ends(restrictive, now_ms),
        _automated_facts(outcome, restrictive), tuple(content_kinds), content_created_ms,
        automated_detection=True, automated_decision=Automation.FULLY, ground=ground,
        source=DetectionSource.VOLUNTARY,
        redress=Redress(add_months(now_ms, APPEAL_WINDOW_MONTHS)))


def _ends(requests: Sequence[ActionRequest], now_ms: int) -> int | None:
    durations = [r.duration_ms for r in requests if r.kind is ActionKind.SUSPEND_ACCOUNT]
    if durations and all(d is not None for d in durations):
        return now_ms + max(d for d in durations if d is not None)
    return None


def _automated_facts(outcome: Outcome, requests: Sequence[ActionRequest]) -> str:
    parts = []
    if outcome.matches:
        banks = sorted({m.bank for m in outcome.matches})
        closest = min(m.distance for m in outcome.matches)
        kinds = sorted({m.signal_type for m in outcome.matches})
        exact = "exactly" if closest == 0 else f"within distance {closest}"
        parts.append(f"The content matched {len(outcome.matches)} entr"
                     f"{'y' if len(outcome.matches) == 1 else 'ies'} of the bank(s) "
                     f"{', '.join(banks)} {exact} ({', '.join(kinds)} hash).")
    rules = sorted({r.rule for r in requests})
    parts.append(f"Rule(s) {', '.join(rules)} of rule set version {outcome.ruleset_version} "
                 "applied automatically.")
    return " ".join(parts)


def from_decision(case: Case, statement_id: str, label: str,
                  content_kinds: Sequence[ContentKind], content_created_ms: int, facts: str,
                  source_identity: str | None = None,
                  territorial_scope: Sequence[str] = EEA) -> StatementOfReasons | None:
    """Statement for a moderator's decision on ``case`` (None for no_violation).
    Human decision; partially automated when an automated hold brought it."""
    if case.decision is None or case.decided_at_ms is None:
        raise ReasonsError("the case has no decision yet")
    restrictions = _RESTRICTION_OF_DECISION.get(case.decision)
    if restrictions is None:
        return None
    top = min(case.sources, key=list(Source).index)
    source = _SOURCE[top]
    automated = Source.AUTOMATED_HOLD in case.sources
    identity = source_identity if source in (DetectionSource.TRUSTED_FLAGGER,
                                             DetectionSource.ORDER) else None
    return StatementOfReasons(
        statement_id, restrictions, tuple(territorial_scope), case.decided_at_ms, None, facts,
        tuple(content_kinds), content_created_ms, automated_detection=automated,
        automated_decision=Automation.PARTIALLY if automated else Automation.NOT_AUTOMATED,
        ground=pick_ground([label]), source=source,
        redress=Redress(add_months(case.decided_at_ms, APPEAL_WINDOW_MONTHS)),
        source_identity=identity)


def order_ground(label: str, basis_reference: str, explanation: str) -> Ground:
    """The ground of a measure an authority ordered: the law the order cites and what
    the authority found — never the wording of a bank match ("a close variant of
    known material"), which is not what happened (issue 17)."""
    return Ground(GroundKind.ILLEGAL, basis_reference[:500], explanation[:2000], label)


def from_order(case: Case, statement_id: str, ground: Ground,
               content_kinds: Sequence[ContentKind], content_created_ms: int, facts: str,
               authority: str, territorial_scope: Sequence[str],
               category: str | None = None) -> StatementOfReasons | None:
    """Statement for a measure taken on an order (TCO Art. 3 or DSA Art. 9): the
    authority decided; no automated means; the authority named as the source."""
    sor = from_decision(case, statement_id, ground.label, content_kinds, content_created_ms,
                        facts, source_identity=authority, territorial_scope=territorial_scope)
    if sor is None:
        return None
    return replace(sor, ground=ground, category=category)


def from_staff_removal(statement_id: str, labels: Sequence[str],
                       content_kinds: Sequence[ContentKind], content_created_ms: int,
                       now_ms: int, after_hold: bool,
                       territorial_scope: Sequence[str] = EEA) -> StatementOfReasons:
    """Statement for a moderator's removal outside the review queue (the staff API):
    a person decided; automated detection when the post had been held by the rules.
    No case exists to appeal in the app, so the redress is out of court and in court."""
    facts = ("The post had been held after automated detection; a moderator reviewed it "
             "and removed it." if after_hold else
             "A moderator reviewed the post and removed it.")
    return StatementOfReasons(
        statement_id, (Restriction.CONTENT_REMOVED,), tuple(territorial_scope), now_ms, None,
        facts, tuple(content_kinds) or (ContentKind.TEXT,), content_created_ms,
        automated_detection=after_hold,
        automated_decision=Automation.PARTIALLY if after_hold else Automation.NOT_AUTOMATED,
        ground=pick_ground(labels), source=DetectionSource.VOLUNTARY,
        redress=Redress(None))


_RESTRICTION_TEXT: Final = {
    Restriction.CONTENT_REMOVED: "Your content was removed (or not published).",
    Restriction.CONTENT_DISABLED: "Your content is not shown while a moderator reviews it.",
    Restriction.SERVICE_PARTIALLY_TERMINATED: "Your channel was banned.",
    Restriction.ACCOUNT_SUSPENDED: "Your account was suspended.",
    Restriction.ACCOUNT_TERMINATED: "Your account was closed.",
}
_SOURCE_TEXT: Final = {
    DetectionSource.VOLUNTARY: "We found this ourselves.",
    DetectionSource.NOTICE: "We acted on a report.",
    DetectionSource.TRUSTED_FLAGGER: "We acted on a notice from a trusted flagger.",
    DetectionSource.ORDER: "We acted on an order from a competent authority.",
}
_AUTOMATION_TEXT: Final = {
    Automation.FULLY: "This decision was taken by automated means.",
    Automation.PARTIALLY: "Automated means were used; a person took the decision.",
    Automation.NOT_AUTOMATED: "A person took this decision.",
}


def _date(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def render_text(sor: StatementOfReasons) -> str:
    """The user-facing statement, plain text, in the order of Art. 17(3)."""
    scope = "the EEA" if set(sor.territorial_scope) == set(EEA) else ", ".join(
        sor.territorial_scope)
    until = f"until {_date(sor.ends_ms)}" if sor.ends_ms is not None else "with no end date"
    why = ("illegal content" if sor.ground.kind is GroundKind.ILLEGAL
           else "content not allowed by our terms of service")
    lines = [
        *(_RESTRICTION_TEXT[r] for r in sor.restrictions),
        f"Where: {scope}. From {_date(sor.starts_ms)}, {until}.",
        f"Why: {why} — {sor.ground.reference}.",
        sor.ground.explanation,
        f"What we relied on: {sor.facts}",
        _SOURCE_TEXT[sor.source],
        ("Detected by automated means. " if sor.automated_detection else "")
        + _AUTOMATION_TEXT[sor.automated_decision],
        "What you can do:",
    ]
    if sor.redress.complaint_until_ms is not None:
        lines.append(f"- appeal in the app until {_date(sor.redress.complaint_until_ms)}; "
                     "another moderator will look at it;")
    if sor.redress.out_of_court:
        lines.append("- ask a certified out-of-court dispute settlement body "
                     "(DSA Art. 21);")
    if sor.redress.judicial:
        lines.append("- go to court.")
    lines.append(f"Reference: {sor.statement_id}")
    return "\n".join(lines)


# --- stored form -------------------------------------------------------------
# The shell stores each statement as this JSON-able record next to the text the
# user got, so the Transparency Database export (Art. 24(5)) rebuilds the exact
# statement later instead of re-deriving it from changed state.

RECORD_VERSION: Final = 1


def to_record(sor: StatementOfReasons) -> dict[str, Any]:
    return {
        "v": RECORD_VERSION, "statement_id": sor.statement_id,
        "restrictions": [str(r) for r in sor.restrictions],
        "territorial_scope": list(sor.territorial_scope), "starts_ms": sor.starts_ms,
        "ends_ms": sor.ends_ms, "facts": sor.facts,
        "content_kinds": [str(k) for k in sor.content_kinds],
        "content_created_ms": sor.content_created_ms,
        "automated_detection": sor.automated_detection,
        "automated_decision": str(sor.automated_decision), "ground": sor.ground.label,
        "source": str(sor.source), "complaint_until_ms": sor.redress.complaint_until_ms,
        "source_identity": sor.source_identity, "content_language": sor.content_language,
        "business_account": sor.business_account,
        **_own_ground(sor),
    }


def _own_ground(sor: StatementOfReasons) -> dict[str, Any]:
    """An order's ground and category (not the stock ground of its label), if any."""
    out: dict[str, Any] = {}
    if GROUNDS.get(sor.ground.label) != sor.ground:
        out["ground_kind"] = str(sor.ground.kind)
        out["ground_reference"] = sor.ground.reference
        out["ground_explanation"] = sor.ground.explanation
    if sor.category is not None:
        out["category"] = sor.category
    return out


def from_record(data: Mapping[str, Any]) -> StatementOfReasons:
    """Inverse of ``to_record``; a ``ReasonsError`` names what is wrong with a bad one."""
    try:
        if data["v"] != RECORD_VERSION:
            raise ReasonsError(f"unknown statement record version {data['v']!r}")
        label = str(data["ground"])
        if label not in GROUNDS:
            raise ReasonsError(f"unknown ground {label!r}")
        ground = GROUNDS[label]
        if "ground_reference" in data:
            ground = Ground(GroundKind(data["ground_kind"]), str(data["ground_reference"]),
                            str(data["ground_explanation"]), label)
        return StatementOfReasons(
            str(data["statement_id"]), tuple(Restriction(r) for r in data["restrictions"]),
            tuple(str(c) for c in data["territorial_scope"]), int(data["starts_ms"]),
            None if data["ends_ms"] is None else int(data["ends_ms"]), str(data["facts"]),
            tuple(ContentKind(k) for k in data["content_kinds"]),
            int(data["content_created_ms"]), bool(data["automated_detection"]),
            Automation(data["automated_decision"]), ground,
            DetectionSource(data["source"]),
            Redress(None if data["complaint_until_ms"] is None
                    else int(data["complaint_until_ms"])),
            data.get("source_identity"), data.get("content_language"),
            bool(data.get("business_account", False)), data.get("category"))
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, ReasonsError):
            raise
        raise ReasonsError(f"bad statement record: {exc!r}") from exc

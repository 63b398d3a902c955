"""Action requests: what a rule or a moderator asks the service layer to do.

The engine never performs an action; it returns requests, each naming the rule
and rule-set version that asked for it (DSA Art. 17(3)(c) wants to know whether
automated means decided, and Art. 15(1)(c) counts own-initiative measures by
type) and a deterministic idempotency key, so a retried or duplicated request
is applied once by the service that stores it.

Action kinds mirror the measures the DSA names in Art. 17(1): removal or
disabling of content (``reject``, ``hold``), suspension or termination of the
service (``ban_channel``) or of the account (``suspend_account``).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from tidings.moderation.errors import ModerationError

MS_PER_SECOND: Final = 1_000
MS_PER_DAY: Final = 86_400 * MS_PER_SECOND
#: Units of a duration literal such as ``90d``.
DURATION_UNITS: Final = {
    "s": MS_PER_SECOND,
    "m": 60 * MS_PER_SECOND,
    "h": 3_600 * MS_PER_SECOND,
    "d": MS_PER_DAY,
    "w": 7 * MS_PER_DAY,
}
_DURATION = re.compile(r"([1-9][0-9]{0,5})([smhdw])")
#: Strike weight and lifetime when a rule says just ``strike``.
DEFAULT_STRIKE_WEIGHT: Final = 1
DEFAULT_STRIKE_EXPIRY_MS: Final = 90 * MS_PER_DAY
MAX_STRIKE_WEIGHT: Final = 100
#: Longest duration a rule may write (ten years): a typo must not mean forever.
MAX_DURATION_MS: Final = 3_650 * MS_PER_DAY


class ActionError(ModerationError, ValueError):
    """An action literal such as ``strike:1:90d`` is malformed."""

    code = "invalid_action"


class ActionKind(StrEnum):
    REJECT = "reject"
    HOLD = "hold"
    ALLOW_AND_FLAG = "allow_and_flag"
    STRIKE = "strike"
    BAN_CHANNEL = "ban_channel"
    SUSPEND_ACCOUNT = "suspend_account"
    AUTO_BANK = "auto_bank"


class Verdict(StrEnum):
    """What happens to the content itself: the one verdict of a decision (the rules'
    and the engine's). ``allow_and_flag`` publishes but queues a look."""

    ALLOW = "allow"
    ALLOW_AND_FLAG = "allow_and_flag"
    HOLD = "hold"
    REJECT = "reject"


#: reject > hold > allow_and_flag > allow: the strictest verdict of all rules wins.
VERDICT_RANK: Final = {
    Verdict.ALLOW: 0,
    Verdict.ALLOW_AND_FLAG: 1,
    Verdict.HOLD: 2,
    Verdict.REJECT: 3,
}
VERDICT_OF_ACTION: Final = {
    ActionKind.REJECT: Verdict.REJECT,
    ActionKind.HOLD: Verdict.HOLD,
    ActionKind.ALLOW_AND_FLAG: Verdict.ALLOW_AND_FLAG,
}


def combine(verdicts: list[Verdict]) -> Verdict:
    """The strictest verdict; ``allow`` when there is none."""
    return max(verdicts, key=VERDICT_RANK.__getitem__, default=Verdict.ALLOW)


class TargetKind(StrEnum):
    CONTENT = "content"
    CHANNEL = "channel"
    ACCOUNT = "account"


#: Which entity each action acts on.
TARGET_OF_ACTION: Final = {
    ActionKind.REJECT: TargetKind.CONTENT,
    ActionKind.HOLD: TargetKind.CONTENT,
    ActionKind.ALLOW_AND_FLAG: TargetKind.CONTENT,
    ActionKind.AUTO_BANK: TargetKind.CONTENT,
    ActionKind.STRIKE: TargetKind.ACCOUNT,
    ActionKind.SUSPEND_ACCOUNT: TargetKind.ACCOUNT,
    ActionKind.BAN_CHANNEL: TargetKind.CHANNEL,
}


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """A parsed action literal: ``kind[:weight][:duration]``.

    ``weight`` is only for strikes; ``duration_ms`` is a strike's lifetime or a
    suspension's length (``None`` for a suspension: until lifted)."""

    kind: ActionKind
    weight: int = 0
    duration_ms: int | None = None

    def literal(self) -> str:
        parts = [self.kind.value]
        if self.kind is ActionKind.STRIKE:
            parts.append(str(self.weight))
        if self.duration_ms is not None:
            parts.append(f"{self.duration_ms // MS_PER_SECOND}s")
        return ":".join(parts)


def parse_duration(text: str) -> int:
    """``90d`` -> milliseconds. Raises ``ActionError`` on anything else."""
    m = _DURATION.fullmatch(text)
    if m is None:
        raise ActionError(f"bad duration {text!r}: use e.g. 30s, 15m, 12h, 90d, 2w")
    ms = int(m.group(1)) * DURATION_UNITS[m.group(2)]
    if ms > MAX_DURATION_MS:
        raise ActionError(f"duration {text!r} is over ten years")
    return ms


def parse_action(text: str) -> ActionSpec:
    """Parse ``reject``, ``strike:1:90d``, ``suspend_account:30d`` ..."""
    head, *params = text.split(":")
    try:
        kind = ActionKind(head)
    except ValueError:
        known = ", ".join(k.value for k in ActionKind)
        raise ActionError(f"unknown action {head!r} (known: {known})") from None
    if kind is ActionKind.STRIKE:
        if len(params) > 2:
            raise ActionError("strike takes at most weight and duration: strike:1:90d")
        weight = DEFAULT_STRIKE_WEIGHT
        if params:
            if not params[0].isdigit() or not 1 <= int(params[0]) <= MAX_STRIKE_WEIGHT:
                raise ActionError(f"strike weight must be 1..{MAX_STRIKE_WEIGHT}")
            weight = int(params[0])
        expiry = parse_duration(params[1]) if len(params) == 2 else DEFAULT_STRIKE_EXPIRY_MS
        return ActionSpec(kind, weight, expiry)
    if kind is ActionKind.SUSPEND_ACCOUNT:
        if len(params) > 1:
            raise ActionError("suspend_account takes at most a duration")
        return ActionSpec(kind, 0, parse_duration(params[0]) if params else None)
    if params:
        raise ActionError(f"{kind.value} takes no parameters")
    return ActionSpec(kind)


def idempotency_key(rule: str, kind: ActionKind, target: str, cause: str) -> str:
    """SHA-256 over (rule, action kind, target, cause), hex.

    The rule-set version is deliberately left out: re-evaluating the same cause
    after a harmless rule edit must not strike the same person twice.
    """
    blob = json.dumps([rule, kind.value, target, cause], separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ActionRequest:
    """One thing the service should do, and why.

    ``target`` is ``"<kind>:<id>"`` (``content:…``, ``channel:…``, ``account:…``);
    ``cause`` is what triggered it (a content hash, a case id). ``entry_ids`` are
    the bank entries that matched, for the statement of reasons (DSA Art. 17(3)(b)).
    """

    kind: ActionKind
    rule: str
    ruleset_version: int
    target: str
    cause: str
    weight: int = 0
    duration_ms: int | None = None
    entry_ids: tuple[int, ...] = ()
    idempotency_key: str = ""

    @classmethod
    def create(
        cls,
        spec: ActionSpec,
        rule: str,
        ruleset_version: int,
        target: str,
        cause: str,
        entry_ids: tuple[int, ...] = (),
    ) -> ActionRequest:
        key = idempotency_key(rule, spec.kind, target, cause)
        return cls(spec.kind, rule, ruleset_version, target, cause, spec.weight,
                   spec.duration_ms, entry_ids, key)


def dedupe(requests: list[ActionRequest]) -> list[ActionRequest]:
    """First request per idempotency key, order kept: applying a list twice, or
    a list with duplicates, changes nothing twice."""
    seen: set[str] = set()
    out: list[ActionRequest] = []
    for request in requests:
        if request.idempotency_key not in seen:
            seen.add(request.idempotency_key)
            out.append(request)
    return out


def apply_once(applied: frozenset[str], requests: list[ActionRequest]
               ) -> tuple[frozenset[str], list[ActionRequest]]:
    """Given keys already applied, the requests still to do and the new key set.
    A pure model of what the store's unique constraint on the key does."""
    todo = [r for r in dedupe(requests) if r.idempotency_key not in applied]
    return applied | {r.idempotency_key for r in todo}, todo

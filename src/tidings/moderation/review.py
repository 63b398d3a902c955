"""The review queue as a sans-I/O state machine (issue #8).

Like h11, this module owns no clock and no storage: the service feeds events
(with ``now_ms``) into ``apply(case, event)`` and stores the new ``Case``.
Transitions are a table; guards enforce the rules a moderator console must not
be able to break:

* one moderator holds a case's lease at a time; a lease expires and releases;
* an appeal (DSA Art. 20 internal complaint) is possible for six months after
  the decision (Art. 20(1)) and is decided by a different moderator than the
  one who decided first (Art. 20(6): not solely automated, and in our policy
  not the same person);
* for removals of terrorist content the complaint must be answered within two
  weeks (TCO Regulation (EU) 2021/784, Art. 10(2)); ``appeal_due_ms`` tracks it.

The queue order follows who is asking: legal orders (TCO Art. 3, DSA Art. 9)
before trusted flaggers (DSA Art. 22(1): "with priority") before verified
private reports, automated holds and plain user reports; then oldest first.
"""

from __future__ import annotations

import calendar
import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

from tidings.moderation.actions import MS_PER_DAY
from tidings.moderation.errors import ModerationError

APPEAL_WINDOW_MONTHS: Final = 6
"""DSA Art. 20(1): complaints possible for at least six months after the decision."""
TCO_COMPLAINT_ANSWER_MS: Final = 14 * MS_PER_DAY
"""TCO Art. 10(2): the outcome of a complaint is given within two weeks."""
MAX_LEASE_MS: Final = 4 * 3_600_000
"""Longest lease a moderator may take on a case (four hours)."""


class ReviewError(ModerationError, ValueError):
    """An event the case cannot take now; ``code`` says why."""

    code = "review_error"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class State(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    DECIDED = "decided"
    ESCALATED = "escalated"
    APPEALED = "appealed"
    APPEAL_CLAIMED = "appeal_claimed"
    APPEAL_DECIDED = "appeal_decided"
    CLOSED = "closed"


LEASED_STATES: Final = frozenset({State.CLAIMED, State.APPEAL_CLAIMED})


class Source(StrEnum):
    LEGAL_ORDER = "legal_order"
    TRUSTED_FLAGGER = "trusted_flagger"
    VERIFIED_PRIVATE_REPORT = "verified_private_report"
    AUTOMATED_HOLD = "automated_hold"
    USER_REPORT = "user_report"


#: Lower rank is reviewed first.
SOURCE_RANK: Final = {s: i for i, s in enumerate(Source)}


class Decision(StrEnum):
    REMOVE = "remove"
    BAN_CHANNEL = "ban_channel"
    SUSPEND_ACCOUNT = "suspend_account"
    NO_VIOLATION = "no_violation"
    ESCALATE = "escalate"


class AppealDecision(StrEnum):
    UPHOLD = "uphold"
    REVERSE = "reverse"


# --- events ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportAdded:
    source: Source
    now_ms: int


@dataclass(frozen=True, slots=True)
class HoldAdded:
    now_ms: int


@dataclass(frozen=True, slots=True)
class Claim:
    moderator: str
    now_ms: int
    lease_ms: int


@dataclass(frozen=True, slots=True)
class Release:
    moderator: str


@dataclass(frozen=True, slots=True)
class LeaseExpired:
    now_ms: int


@dataclass(frozen=True, slots=True)
class Decide:
    moderator: str
    decision: Decision
    now_ms: int


@dataclass(frozen=True, slots=True)
class Escalate:
    moderator: str
    now_ms: int


@dataclass(frozen=True, slots=True)
class Appeal:
    user: str
    now_ms: int


@dataclass(frozen=True, slots=True)
class DecideAppeal:
    moderator: str
    decision: AppealDecision
    now_ms: int


@dataclass(frozen=True, slots=True)
class Close:
    now_ms: int


Event = (ReportAdded | HoldAdded | Claim | Release | LeaseExpired | Decide | Escalate
         | Appeal | DecideAppeal | Close)

#: (state, event type) -> next state. Anything absent is an illegal transition.
#: ``OPEN`` after a release or expiry means "back to the queue": a case that
#: was escalated goes back to ``ESCALATED`` (see ``_requeue``).
TRANSITIONS: Final[dict[tuple[State, type], State]] = {
    (State.OPEN, ReportAdded): State.OPEN,
    (State.CLAIMED, ReportAdded): State.CLAIMED,
    (State.ESCALATED, ReportAdded): State.ESCALATED,
    (State.OPEN, HoldAdded): State.OPEN,
    (State.CLAIMED, HoldAdded): State.CLAIMED,
    (State.ESCALATED, HoldAdded): State.ESCALATED,
    (State.OPEN, Claim): State.CLAIMED,
    (State.ESCALATED, Claim): State.CLAIMED,
    (State.CLAIMED, Claim): State.CLAIMED,  # only once the lease has expired
    (State.APPEALED, Claim): State.APPEAL_CLAIMED,
    (State.APPEAL_CLAIMED, Claim): State.APPEAL_CLAIMED,  # idem
    (State.CLAIMED, Release): State.OPEN,
    (State.APPEAL_CLAIMED, Release): State.APPEALED,
    (State.CLAIMED, LeaseExpired): State.OPEN,
    (State.APPEAL_CLAIMED, LeaseExpired): State.APPEALED,
    (State.CLAIMED, Decide): State.DECIDED,  # ESCALATED when the decision is escalate
    (State.OPEN, Escalate): State.ESCALATED,
    (State.CLAIMED, Escalate): State.ESCALATED,
    (State.DECIDED, Appeal): State.APPEALED,
    (State.APPEAL_CLAIMED, DecideAppeal): State.APPEAL_DECIDED,
    (State.DECIDED, Close): State.CLOSED,
    (State.APPEAL_DECIDED, Close): State.CLOSED,
}


@dataclass(frozen=True, slots=True)
class Case:
    case_id: str
    state: State
    created_ms: int
    sources: frozenset[Source]
    terrorist_content: bool = False
    """Set when the case is about terrorist content (TCO complaint deadline)."""
    reports: int = 0
    holds: int = 0
    escalated: bool = False
    lease_holder: str | None = None
    lease_expires_ms: int | None = None
    decision: Decision | None = None
    decided_by: str | None = None
    decided_at_ms: int | None = None
    appellant: str | None = None
    appealed_at_ms: int | None = None
    appeal_decision: AppealDecision | None = None
    appeal_decided_by: str | None = None
    appeal_decided_at_ms: int | None = None


def open_case(case_id: str, source: Source, now_ms: int, terrorist_content: bool = False) -> Case:
    return Case(case_id, State.OPEN, now_ms, frozenset({source}), terrorist_content,
                reports=0 if source is Source.AUTOMATED_HOLD else 1,
                holds=1 if source is Source.AUTOMATED_HOLD else 0)


def add_months(ms: int, months: int) -> int:
    """Calendar months later in UTC, clamped to the month's last day (31 Aug + 6 = 28/29 Feb)."""
    t = datetime.fromtimestamp(ms / 1000, UTC)
    month0 = t.month - 1 + months
    year, month = t.year + month0 // 12, month0 % 12 + 1
    day = min(t.day, calendar.monthrange(year, month)[1])
    return int(t.replace(year=year, month=month, day=day).timestamp() * 1000) + ms % 1000 - (
        t.microsecond // 1000)


def appeal_deadline_ms(case: Case) -> int | None:
    if case.decided_at_ms is None:
        return None
    return add_months(case.decided_at_ms, APPEAL_WINDOW_MONTHS)


def appeal_due_ms(case: Case) -> int | None:
    """TCO Art. 10(2) answer deadline, for appeals against terrorist-content removals."""
    if not case.terrorist_content or case.appealed_at_ms is None:
        return None
    return case.appealed_at_ms + TCO_COMPLAINT_ANSWER_MS


def appeal_overdue(case: Case, now_ms: int) -> bool:
    due = appeal_due_ms(case)
    return due is not None and case.appeal_decided_at_ms is None and now_ms > due


def _lease_active(case: Case, now_ms: int) -> bool:
    return case.lease_expires_ms is not None and now_ms < case.lease_expires_ms


def _holder(case: Case, moderator: str, now_ms: int | None) -> None:
    if case.lease_holder != moderator:
        raise ReviewError("not_lease_holder", f"{moderator} does not hold the lease")
    if now_ms is not None and not _lease_active(case, now_ms):
        raise ReviewError("lease_expired", "the lease has expired; claim the case again")


def _requeue(case: Case, target: State) -> Case:
    if target is State.OPEN and case.escalated:
        target = State.ESCALATED
    return dataclasses.replace(case, state=target, lease_holder=None, lease_expires_ms=None)


def apply(case: Case, event: Event) -> Case:
    """The case after ``event``; raises ``ReviewError`` and changes nothing otherwise."""
    target = TRANSITIONS.get((case.state, type(event)))
    if target is None:
        raise ReviewError("illegal_transition",
                          f"{type(event).__name__} is not possible in state {case.state}")
    replace = dataclasses.replace
    match event:
        case ReportAdded(source=source):
            return replace(case, sources=case.sources | {source}, reports=case.reports + 1)
        case HoldAdded():
            return replace(case, sources=case.sources | {Source.AUTOMATED_HOLD},
                           holds=case.holds + 1)
        case Claim(moderator=moderator, now_ms=now, lease_ms=lease):
            if not 0 < lease <= MAX_LEASE_MS:
                raise ReviewError("bad_lease", f"lease must be 1..{MAX_LEASE_MS} ms")
            if case.state in LEASED_STATES and _lease_active(case, now):
                raise ReviewError("lease_held", f"{case.lease_holder} holds the lease")
            if target is State.APPEAL_CLAIMED and moderator == case.decided_by:
                raise ReviewError("same_moderator", "the original decider cannot take the appeal")
            return replace(case, state=target, lease_holder=moderator,
                           lease_expires_ms=now + lease)
        case Release(moderator=moderator):
            _holder(case, moderator, None)
            return _requeue(case, target)
        case LeaseExpired(now_ms=now):
            if _lease_active(case, now):
                raise ReviewError("lease_active", "the lease has not expired yet")
            return _requeue(case, target)
        case Decide(moderator=moderator, decision=decision, now_ms=now):
            _holder(case, moderator, now)
            if decision is Decision.ESCALATE:
                return replace(_requeue(case, State.ESCALATED), escalated=True)
            return replace(case, state=target, lease_holder=None, lease_expires_ms=None,
                           decision=decision, decided_by=moderator, decided_at_ms=now)
        case Escalate(moderator=moderator, now_ms=now):
            if case.state is State.CLAIMED:
                _holder(case, moderator, now)
            return replace(_requeue(case, target), escalated=True)
        case Appeal(user=user, now_ms=now):
            deadline = appeal_deadline_ms(case)
            if deadline is None or now > deadline:
                raise ReviewError("appeal_window_closed", "appeals close six months after "
                                  "the decision (DSA Art. 20(1))")
            return replace(case, state=target, appellant=user, appealed_at_ms=now)
        case DecideAppeal(moderator=moderator, decision=decision, now_ms=now):
            _holder(case, moderator, now)
            if moderator == case.decided_by:
                raise ReviewError("same_moderator", "an appeal is decided by someone else")
            return replace(case, state=target, lease_holder=None, lease_expires_ms=None,
                           appeal_decision=decision, appeal_decided_by=moderator,
                           appeal_decided_at_ms=now)
        case Close(now_ms=now):
            deadline = appeal_deadline_ms(case)
            if case.state is State.DECIDED and deadline is not None and now <= deadline:
                raise ReviewError("appeal_window_open", "the decision can still be appealed")
            return replace(case, state=target)
    raise AssertionError(event)  # pragma: no cover - the table covers every event type


def priority_key(case: Case) -> tuple[int, int, str]:
    """Sort key: most urgent source first, then oldest, then id (total order)."""
    rank = min((SOURCE_RANK[s] for s in case.sources), default=len(SOURCE_RANK))
    return rank, case.created_ms, case.case_id


def queue_order(cases: Iterable[Case]) -> list[Case]:
    """Cases waiting for a moderator (open, escalated, appealed), most urgent first."""
    waiting = (c for c in cases if c.state in (State.OPEN, State.ESCALATED, State.APPEALED))
    return sorted(waiting, key=priority_key)

"""Review queue: transition table, guards, deadlines, priority; stateful invariants."""

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from tidings.moderation.actions import MS_PER_DAY
from tidings.moderation.review import (
    LEASED_STATES,
    TRANSITIONS,
    Appeal,
    AppealDecision,
    Case,
    Claim,
    Close,
    Decide,
    DecideAppeal,
    Decision,
    Escalate,
    HoldAdded,
    LeaseExpired,
    Release,
    ReportAdded,
    ReviewError,
    Source,
    State,
    appeal_deadline_ms,
    appeal_due_ms,
    appeal_overdue,
    apply,
    open_case,
    queue_order,
)

LEASE = 600_000
T0 = 1_700_000_000_000


def decided(moderator="m1", terrorist=False) -> Case:
    case = open_case("c1", Source.USER_REPORT, T0, terrorist)
    case = apply(case, Claim(moderator, T0, LEASE))
    return apply(case, Decide(moderator, Decision.REMOVE, T0 + 1))


def code_of(case, event):
    with pytest.raises(ReviewError) as info:
        apply(case, event)
    return info.value.code


def test_happy_path_with_appeal_reversed_by_another_moderator():
    case = apply(decided(), Appeal("u1", T0 + MS_PER_DAY))
    assert case.state is State.APPEALED
    assert code_of(case, Claim("m1", T0 + MS_PER_DAY, LEASE)) == "same_moderator"
    case = apply(case, Claim("m2", T0 + MS_PER_DAY, LEASE))
    case = apply(case, DecideAppeal("m2", AppealDecision.REVERSE, T0 + MS_PER_DAY + 5))
    assert case.state is State.APPEAL_DECIDED and case.appeal_decided_by == "m2"
    assert apply(case, Close(T0 + 2 * MS_PER_DAY)).state is State.CLOSED


def test_one_lease_at_a_time_and_expiry_releases():
    case = apply(open_case("c", Source.USER_REPORT, T0), Claim("m1", T0, LEASE))
    assert code_of(case, Claim("m2", T0 + 1, LEASE)) == "lease_held"
    assert code_of(case, LeaseExpired(T0 + LEASE - 1)) == "lease_active"
    assert code_of(case, Release("m2")) == "not_lease_holder"
    assert code_of(case, Decide("m1", Decision.REMOVE, T0 + LEASE)) == "lease_expired"
    expired = apply(case, LeaseExpired(T0 + LEASE))
    assert expired.state is State.OPEN and expired.lease_holder is None
    taken = apply(case, Claim("m2", T0 + LEASE, LEASE))  # takeover after expiry
    assert taken.lease_holder == "m2"
    assert code_of(case, Claim("m2", T0, 0)) == "bad_lease"


def test_escalation_survives_release():
    case = apply(open_case("c", Source.USER_REPORT, T0), Claim("m1", T0, LEASE))
    case = apply(case, Decide("m1", Decision.ESCALATE, T0 + 1))
    assert case.state is State.ESCALATED and case.decision is None
    case = apply(case, Claim("senior", T0 + 2, LEASE))
    assert apply(case, Release("senior")).state is State.ESCALATED
    assert apply(open_case("d", Source.USER_REPORT, T0),
                 Escalate("m1", T0)).state is State.ESCALATED


def test_appeal_window_is_six_calendar_months():
    case = decided()
    deadline = appeal_deadline_ms(case)
    assert deadline is not None and 181 * MS_PER_DAY <= deadline - (T0 + 1) <= 184 * MS_PER_DAY
    assert apply(case, Appeal("u", deadline)).state is State.APPEALED
    assert code_of(case, Appeal("u", deadline + 1)) == "appeal_window_closed"
    assert code_of(case, Close(deadline)) == "appeal_window_open"
    assert apply(case, Close(deadline + 1)).state is State.CLOSED


def test_tco_two_week_answer_deadline():
    case = apply(decided(terrorist=True), Appeal("u", T0 + 10))
    assert appeal_due_ms(case) == T0 + 10 + 14 * MS_PER_DAY
    assert not appeal_overdue(case, T0 + 10 + 14 * MS_PER_DAY)
    assert appeal_overdue(case, T0 + 11 + 14 * MS_PER_DAY)
    assert appeal_due_ms(apply(decided(), Appeal("u", T0 + 10))) is None


def test_illegal_transitions():
    assert code_of(open_case("c", Source.USER_REPORT, T0), Appeal("u", T0)) == "illegal_transition"
    assert code_of(decided(), Decide("m1", Decision.REMOVE, T0)) == "illegal_transition"


def test_reports_and_holds_accumulate_and_raise_priority():
    case = open_case("c", Source.USER_REPORT, T0)
    case = apply(apply(case, HoldAdded(T0)), ReportAdded(Source.TRUSTED_FLAGGER, T0))
    assert case.reports == 2 and case.holds == 1
    assert Source.TRUSTED_FLAGGER in case.sources


def test_queue_order_priority_then_age():
    cases = [
        open_case("user-old", Source.USER_REPORT, T0),
        open_case("hold", Source.AUTOMATED_HOLD, T0 + 5),
        open_case("flagger-new", Source.TRUSTED_FLAGGER, T0 + 9),
        open_case("flagger-old", Source.TRUSTED_FLAGGER, T0 + 1),
        open_case("order", Source.LEGAL_ORDER, T0 + 100),
        open_case("verified", Source.VERIFIED_PRIVATE_REPORT, T0 + 50),
        apply(open_case("claimed", Source.LEGAL_ORDER, T0), Claim("m", T0, LEASE)),
    ]
    assert [c.case_id for c in queue_order(cases)] == [
        "order", "flagger-old", "flagger-new", "verified", "hold", "user-old"]


MODS = st.sampled_from(["m1", "m2", "m3"])


class ReviewMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.case = open_case("c", Source.USER_REPORT, T0, terrorist_content=True)
        self.first_decider: str | None = None

    def _try(self, event) -> None:
        before = self.case
        try:
            after = apply(before, event)
        except ReviewError:
            return
        assert (before.state, type(event)) in TRANSITIONS
        if after.decided_by is not None and before.decided_by is None:
            self.first_decider = after.decided_by
        self.case = after

    @rule(ms=st.integers(0, 40 * MS_PER_DAY))
    def tick(self, ms: int) -> None:
        self.now += ms

    @rule(source=st.sampled_from(Source))
    def report(self, source: Source) -> None:
        self._try(ReportAdded(source, self.now))

    @rule()
    def hold(self) -> None:
        self._try(HoldAdded(self.now))

    @rule(m=MODS, lease=st.integers(1, LEASE))
    def claim(self, m: str, lease: int) -> None:
        before = self.case
        self._try(Claim(m, self.now, lease))
        if before.state in LEASED_STATES and before.lease_expires_ms is not None \
                and self.now < before.lease_expires_ms:
            assert self.case.lease_holder == before.lease_holder  # no second holder

    @rule(m=MODS)
    def release(self, m: str) -> None:
        self._try(Release(m))

    @rule()
    def expire(self) -> None:
        self._try(LeaseExpired(self.now))

    @rule(m=MODS, d=st.sampled_from(Decision))
    def decide(self, m: str, d: Decision) -> None:
        self._try(Decide(m, d, self.now))

    @rule(m=MODS)
    def escalate(self, m: str) -> None:
        self._try(Escalate(m, self.now))

    @rule()
    def appeal(self) -> None:
        self._try(Appeal("user", self.now))

    @rule(m=MODS, d=st.sampled_from(AppealDecision))
    def decide_appeal(self, m: str, d: AppealDecision) -> None:
        self._try(DecideAppeal(m, d, self.now))

    @rule()
    def close(self) -> None:
        self._try(Close(self.now))

    @invariant()
    def lease_iff_claimed(self) -> None:
        c = self.case
        assert (c.lease_holder is not None) == (c.state in LEASED_STATES)
        assert (c.lease_expires_ms is not None) == (c.state in LEASED_STATES)

    @invariant()
    def decisions_are_consistent(self) -> None:
        c = self.case
        if c.state in (State.DECIDED, State.APPEALED, State.APPEAL_CLAIMED,
                       State.APPEAL_DECIDED):
            assert c.decision not in (None, Decision.ESCALATE) and c.decided_by is not None
        if c.decided_by is not None:
            assert c.decided_by == self.first_decider  # a decision is never rewritten
        if c.appeal_decided_by is not None:
            assert c.appeal_decided_by != c.decided_by
        if c.appealed_at_ms is not None:
            deadline = appeal_deadline_ms(c)
            assert deadline is not None and c.appealed_at_ms <= deadline
        if c.state is State.APPEAL_CLAIMED:
            assert c.lease_holder != c.decided_by


TestReviewMachine = ReviewMachine.TestCase
TestReviewMachine.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)

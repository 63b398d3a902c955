"""Statements of reasons: Art. 17(3) fields from rule outcomes and moderator decisions."""

import pytest

from tidings.moderation.actions import MS_PER_DAY
from tidings.moderation.reasons import (
    EEA,
    Automation,
    ContentKind,
    DetectionSource,
    GroundKind,
    ReasonsError,
    Restriction,
    from_decision,
    from_outcome,
    from_record,
    from_staff_removal,
    render_text,
    to_record,
)
from tidings.moderation.review import Claim, Decide, Decision, Source, apply, open_case
from tidings.moderation.rules import (
    ActorHistory,
    Facts,
    LabelledMatch,
    Subject,
    Surface,
    default_ruleset,
    evaluate,
    load_ruleset,
)

NOW = 1_717_200_000_000  # 2024-06-01
TERROR = frozenset({"category:terrorist_content", "behaviour:glorification"})


def outcome(matches=(), surface=Surface.POST, flags=frozenset(), actor=None, rs=None):
    facts = Facts(surface, Subject("a1", "c1", "p1"), "sha", tuple(matches),
                  actor or ActorHistory(), flags)
    return evaluate(rs or default_ruleset(), facts)


def test_automated_terror_rejection():
    o = outcome([LabelledMatch(7, "GIFCT_TCAP", "pdq", "00", 4, TERROR)])
    sor = from_outcome(o, "sor-1", [ContentKind.IMAGE], NOW - MS_PER_DAY, NOW)
    assert sor is not None
    assert sor.restrictions == (Restriction.CONTENT_REMOVED,)
    assert sor.ground.kind is GroundKind.ILLEGAL and "2021/784" in sor.ground.reference
    assert sor.automated_detection and sor.automated_decision is Automation.FULLY
    assert sor.source is DetectionSource.VOLUNTARY and sor.territorial_scope == EEA
    assert "GIFCT_TCAP" in sor.facts and "distance 4" in sor.facts
    assert "terror-hash-reject" in sor.facts and "version 2" in sor.facts
    assert sor.redress.complaint_until_ms is not None
    assert 181 * MS_PER_DAY < sor.redress.complaint_until_ms - NOW < 185 * MS_PER_DAY
    text = render_text(sor)
    assert "removed" in text and "appeal in the app until 2024-12-01" in text
    assert "out-of-court" in text and "court" in text and "sor-1" in text


def test_spam_is_a_terms_ground_and_allow_gives_none():
    o = outcome([LabelledMatch(1, "OPERATOR_SPAM", "text_exact", "x", 0,
                               frozenset({"category:spam"}))])
    sor = from_outcome(o, "sor-2", [ContentKind.TEXT], NOW, NOW)
    assert sor is not None and sor.ground.kind is GroundKind.INCOMPATIBLE
    assert "exactly" in sor.facts
    assert from_outcome(outcome(), "sor-3", [ContentKind.TEXT], NOW, NOW) is None


def test_lookalike_hold_names_impersonation():
    o = outcome(surface=Surface.CHANNEL_HANDLE, flags=frozenset({"lookalike_handle"}))
    sor = from_outcome(o, "sor-4", [ContentKind.TEXT], NOW, NOW,
                       flags=frozenset({"lookalike_handle"}))
    assert sor is not None and sor.restrictions == (Restriction.CONTENT_DISABLED,)
    assert sor.ground.label == "policy:impersonation"


def test_timed_suspension_has_an_end():
    rs = load_ruleset('version = 9\n[[rule]]\nname = "s"\nwhen.surface = "post"\n'
                      'then = ["suspend_account:30d"]\n')
    sor = from_outcome(outcome(rs=rs), "sor-5", [ContentKind.TEXT], NOW, NOW)
    assert sor is not None and sor.ends_ms == NOW + 30 * MS_PER_DAY
    assert sor.restrictions == (Restriction.ACCOUNT_SUSPENDED,)


def decided_case(source, decision=Decision.REMOVE):
    case = open_case("k", source, NOW)
    case = apply(case, Claim("m1", NOW, 60_000))
    return apply(case, Decide("m1", decision, NOW + 1))


def test_moderator_decision_on_trusted_flagger_notice():
    sor = from_decision(decided_case(Source.TRUSTED_FLAGGER), "sor-6",
                        "category:other_illegal", [ContentKind.TEXT], NOW - 5,
                        "Reviewed after a notice.", source_identity="Flagger e.V.")
    assert sor is not None and sor.source is DetectionSource.TRUSTED_FLAGGER
    assert sor.automated_decision is Automation.NOT_AUTOMATED and not sor.automated_detection
    assert sor.source_identity == "Flagger e.V."


def test_private_reporter_is_never_named_and_holds_are_partial_automation():
    user = from_decision(decided_case(Source.USER_REPORT), "s7", "category:spam",
                         [ContentKind.TEXT], NOW, "facts", source_identity="alice")
    assert user is not None and user.source_identity is None
    assert user.source is DetectionSource.NOTICE
    held = from_decision(decided_case(Source.AUTOMATED_HOLD), "s8", "category:spam",
                         [ContentKind.TEXT], NOW, "facts")
    assert held is not None and held.automated_decision is Automation.PARTIALLY
    assert from_decision(decided_case(Source.USER_REPORT, Decision.NO_VIOLATION), "s9",
                         "category:spam", [ContentKind.TEXT], NOW, "facts") is None


def test_invalid_statements_are_refused():
    with pytest.raises(ReasonsError):
        from_decision(open_case("k", Source.USER_REPORT, NOW), "s", "category:spam",
                      [ContentKind.TEXT], NOW, "facts")
    with pytest.raises(ReasonsError):
        from_decision(decided_case(Source.USER_REPORT), "s", "category:spam",
                      [ContentKind.TEXT], NOW, "  ")


def test_stored_record_round_trips_and_refuses_bad_ones() -> None:
    o = outcome([LabelledMatch(7, "GIFCT_TCAP", "pdq", "00", 4, TERROR)],
                actor=ActorHistory(active_strikes=2))
    sor = from_outcome(o, "sor-9", [ContentKind.IMAGE, ContentKind.TEXT], NOW - 5, NOW)
    assert sor is not None
    assert from_record(to_record(sor)) == sor
    case = apply(open_case("k", Source.TRUSTED_FLAGGER, NOW), Claim("m", NOW, 1000))
    case = apply(case, Decide("m", Decision.BAN_CHANNEL, NOW + 1))
    human = from_decision(case, "sor-10", "category:spam", [ContentKind.LINK], NOW, "Spam.",
                          source_identity="Flagger")
    assert human is not None and from_record(to_record(human)) == human
    for broken in ({**to_record(sor), "v": 99}, {**to_record(sor), "ground": "nope"},
                   {**to_record(sor), "restrictions": ["banished"]},
                   {k: v for k, v in to_record(sor).items() if k != "facts"}):
        with pytest.raises(ReasonsError):
            from_record(broken)


def test_staff_removal_statement() -> None:
    held = from_staff_removal("sor-rm-1", ["category:terrorist_content"], [ContentKind.IMAGE],
                              NOW - 5, NOW, after_hold=True)
    assert held.automated_detection and held.automated_decision is Automation.PARTIALLY
    assert held.source is DetectionSource.VOLUNTARY and "2021/784" in held.ground.reference
    assert held.redress.complaint_until_ms is None
    text = render_text(held)
    assert "appeal in the app" not in text and "out-of-court" in text and "held" in text
    own = from_staff_removal("sor-rm-2", [], [], NOW, NOW, after_hold=False)
    assert own.automated_decision is Automation.NOT_AUTOMATED and not own.automated_detection
    assert own.content_kinds == (ContentKind.TEXT,) and own.ground.label == "policy:other"

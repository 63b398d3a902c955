"""Rules: loading errors name rule and key; evaluation; thresholds; idempotency."""

import pytest

from tidings.moderation.actions import (
    MS_PER_DAY,
    ActionError,
    ActionKind,
    ActionSpec,
    Verdict,
    apply_once,
    parse_action,
    parse_duration,
)
from tidings.moderation.matcher import Match
from tidings.moderation.rules import (
    ActorHistory,
    Facts,
    LabelledMatch,
    RuleError,
    Subject,
    Surface,
    default_ruleset,
    escalate,
    evaluate,
    load_ruleset,
)

TERROR = frozenset({"category:terrorist_content"})
SPAM = frozenset({"category:spam"})


def facts(surface=Surface.POST, matches=(), actor=None, flags=frozenset(),
          cause="sha-1", channel="ch1"):
    return Facts(surface, Subject("acc1", channel, "post1"), cause, tuple(matches),
                 actor or ActorHistory(), flags)


def match(entry=1, bank="GIFCT_TCAP", labels=TERROR, distance=0, signal="pdq"):
    return LabelledMatch(entry, bank, signal, "00", distance, labels)


def test_default_rules_reject_terror_with_strike_and_auto_bank():
    outcome = evaluate(default_ruleset(), facts(matches=[match()]))
    assert outcome.verdict is Verdict.REJECT
    kinds = {(r.kind, r.rule) for r in outcome.requests}
    assert (ActionKind.REJECT, "terror-hash-reject") in kinds
    assert (ActionKind.STRIKE, "terror-hash-reject") in kinds
    assert (ActionKind.AUTO_BANK, "terror-hash-reject") in kinds
    assert all(r.ruleset_version == 2 for r in outcome.requests)
    strike = next(r for r in outcome.requests if r.kind is ActionKind.STRIKE)
    assert strike.weight == 1 and strike.duration_ms == 90 * MS_PER_DAY
    assert strike.target == "account:acc1" and strike.entry_ids == (1,)
    assert outcome.matches == (match(),)


def test_default_rules_hold_partner_matches_unless_trusted():
    """Issue 19: a partner (exchange-sourced) bank's match holds and never strikes,
    even labelled terrorist content; the same match from a trusted bank rejects."""
    partner = evaluate(default_ruleset(), facts(matches=[
        LabelledMatch(1, "GIFCT_TCAP", "pdq", "00", 0, TERROR, "partner")]))
    assert partner.verdict is Verdict.HOLD
    assert [r.kind for r in partner.requests] == [ActionKind.HOLD]
    assert partner.fired == ("partner-match-hold",)
    trusted = evaluate(default_ruleset(), facts(matches=[
        LabelledMatch(1, "GIFCT_TCAP", "pdq", "00", 0, TERROR, "trusted")]))
    assert trusted.verdict is Verdict.REJECT
    assert ActionKind.STRIKE in {r.kind for r in trusted.requests}


def test_trust_condition_is_validated():
    with pytest.raises(RuleError, match="unknown trust"):
        load_ruleset('version = 1\n[[rule]]\nname = "r"\nwhen.match.trust = ["maybe"]\n'
                     'then = ["hold"]')


def test_default_rules_reject_any_bank_without_strike():
    outcome = evaluate(default_ruleset(), facts(matches=[match(bank="OPERATOR_SPAM", labels=SPAM)]))
    assert outcome.verdict is Verdict.REJECT
    assert [r.kind for r in outcome.requests] == [ActionKind.REJECT]
    assert outcome.fired == ("bank-match-reject",)


def test_no_match_allows():
    outcome = evaluate(default_ruleset(), facts())
    assert outcome.verdict is Verdict.ALLOW and outcome.requests == () and not outcome.automated


def test_new_channel_of_banned_owner_is_held():
    rs = default_ruleset()
    held = evaluate(rs, facts(Surface.CHANNEL_HANDLE, actor=ActorHistory(prior_owner_bans=1),
                              flags=frozenset({"new_channel"})))
    assert held.verdict is Verdict.HOLD and held.fired == ("banned-owner-new-channel-hold",)
    clean = evaluate(rs, facts(Surface.CHANNEL_HANDLE, flags=frozenset({"new_channel"})))
    assert clean.verdict is Verdict.ALLOW


def test_lookalike_handle_is_held():
    outcome = evaluate(default_ruleset(), facts(Surface.CHANNEL_HANDLE,
                                                flags=frozenset({"lookalike_handle"})))
    assert outcome.verdict is Verdict.HOLD


def test_third_strike_bans_channel_fifth_suspends():
    rs = default_ruleset()
    two = evaluate(rs, facts(matches=[match()], actor=ActorHistory(active_strikes=2)))
    assert any(r.kind is ActionKind.BAN_CHANNEL and r.rule == "threshold:ban_channel"
               and r.target == "channel:ch1" for r in two.requests)
    assert not any(r.kind is ActionKind.SUSPEND_ACCOUNT for r in two.requests)
    four = evaluate(rs, facts(matches=[match()], actor=ActorHistory(active_strikes=4)))
    assert {ActionKind.BAN_CHANNEL, ActionKind.SUSPEND_ACCOUNT} <= {r.kind for r in four.requests}
    # no channel (a profile): the ban is skipped, the suspension is not
    prof = evaluate(rs, facts(Surface.PROFILE_AVATAR, matches=[match()], channel=None,
                              actor=ActorHistory(active_strikes=4)))
    assert ActionKind.BAN_CHANNEL not in {r.kind for r in prof.requests}


def test_escalate():
    assert escalate(0) == []
    assert escalate(3) == [ActionKind.BAN_CHANNEL]
    assert escalate(7) == [ActionKind.BAN_CHANNEL, ActionKind.SUSPEND_ACCOUNT]
    assert escalate(2, {ActionKind.SUSPEND_ACCOUNT: 2}) == [ActionKind.SUSPEND_ACCOUNT]


def test_idempotency_keys_are_deterministic_and_retries_apply_once():
    rs = default_ruleset()
    a = evaluate(rs, facts(matches=[match()]))
    b = evaluate(rs, facts(matches=[match()]))
    assert [r.idempotency_key for r in a.requests] == [r.idempotency_key for r in b.requests]
    applied, todo = apply_once(frozenset(), list(a.requests) + list(b.requests))
    assert len(todo) == len(a.requests)
    again, todo2 = apply_once(applied, list(b.requests))
    assert todo2 == [] and again == applied
    other = evaluate(rs, facts(matches=[match()], cause="sha-2"))
    assert {r.idempotency_key for r in other.requests}.isdisjoint(applied)


def test_version_bump_keeps_keys_but_records_version():
    text = default_ruleset_text().replace("version = 2", "version = 3")
    v2 = evaluate(load_ruleset(text), facts(matches=[match()]))
    v1 = evaluate(default_ruleset(), facts(matches=[match()]))
    assert {r.ruleset_version for r in v2.requests} == {3}
    assert [r.idempotency_key for r in v1.requests] == [r.idempotency_key for r in v2.requests]
    assert load_ruleset(text).content_hash != default_ruleset().content_hash


def default_ruleset_text():
    from tidings.moderation.rules import default_rules_text

    return default_rules_text()


def test_content_hash_ignores_comments_and_order():
    a = load_ruleset('version = 3\n[[rule]]\nname = "x"\nwhen.surface = ["post"]\n'
                     'when.match.bank = ["A_B*"]\nthen = ["hold"]\n')
    b = load_ruleset('# comment\nversion = 3\n[[rule]]\nthen = ["hold"]\nname = "x"\n'
                     'when = { match = { bank = ["A_B*"] }, surface = "post" }\n')
    assert a.content_hash == b.content_hash


def test_example_from_issue_loads():
    rs = load_ruleset("""
version = 3
[[rule]]
name = "terror-hash-reject"
when.match.bank = ["TERRORIST_CONTENT"]
when.match.labels = ["terrorist_content"]
when.match.max_distance = 31
when.surface = ["post", "edit", "forward"]
when.actor.min_strikes = 0
then = ["reject", "strike:1:90d", "auto_bank"]
""")
    far = evaluate(rs, facts(matches=[match(bank="TERRORIST_CONTENT", distance=32)]))
    near = evaluate(rs, facts(matches=[match(bank="TERRORIST_CONTENT", distance=31)]))
    other_bank = evaluate(rs, facts(matches=[match(bank="GIFCT_TCAP")]))
    wrong_surface = evaluate(rs, facts(Surface.PROFILE_NAME,
                                       matches=[match(bank="TERRORIST_CONTENT")]))
    assert near.verdict is Verdict.REJECT
    assert far.verdict is other_bank.verdict is wrong_surface.verdict is Verdict.ALLOW


def test_labelled_match_from_matcher_match():
    m = Match(5, "BANK_A", "md5", "ff", 0)
    assert LabelledMatch.of(m, SPAM) == LabelledMatch(5, "BANK_A", "md5", "ff", 0, SPAM)


def test_allow_and_flag_ranks_below_hold():
    rs = load_ruleset("""
version = 1
[[rule]]
name = "flag-new"
when.actor.max_account_age_days = 1
then = ["allow_and_flag"]
[[rule]]
name = "hold-new"
when.actor.max_account_age_days = 0
then = ["hold"]
""")
    assert evaluate(rs, facts(actor=ActorHistory(account_age_days=1))).verdict \
        is Verdict.ALLOW_AND_FLAG
    assert evaluate(rs, facts(actor=ActorHistory(account_age_days=0))).verdict is Verdict.HOLD


BAD = [
    ('version = 1\n[[rule]]\nname = "r"\nwhen.surface = ["post"]\nthen = ["explode"]',
     "r", "then", "unknown action"),
    ('version = 1\n[[rule]]\nname = "r"\nwhen.match.bnk = ["A"]\nthen = ["hold"]',
     "r", "when.match.bnk", "unknown key"),
    ('version = 1\n[[rule]]\nname = "r"\nwhen.match.bank = ["bad name"]\nthen = ["hold"]',
     "r", "when.match.bank", "bad bank pattern"),
    ('version = 1\n[[rule]]\nname = "r"\nwhen.match.bank = ["A*B"]\nthen = ["hold"]',
     "r", "when.match.bank", "bad bank pattern"),
    ('version = 1\n[[rule]]\nname = "r"\nwhen.surface = ["post"]\nthen = ["strike:1:90x"]',
     "r", "then", "bad duration"),
    ('version = 1\n[[rule]]\nname = "r"\nwhen.surface = ["wall"]\nthen = ["hold"]',
     "r", "when.surface", "unknown surface"),
    ('version = 1\n[[rule]]\nname = "r"\nwhen.match.labels = ["nice"]\nthen = ["hold"]',
     "r", "when.match.labels", "unknown label"),
    ('version = 1\n[[rule]]\nname = "r"\nthen = ["hold"]', "r", "when", "non-empty"),
    ('version = 1\n[[rule]]\nname = "r"\nwhen.no_match = true\nwhen.match.bank = ["*"]\n'
     'then = ["hold"]', "r", "when.no_match", "cannot be combined"),
    ('version = 1\n[[rule]]\nname = "r"\nwhen.actor.min_strikes = -1\nthen = ["hold"]',
     "r", "when.actor.min_strikes", "integer"),
    ('version = 1\n[[rule]]\nname = "r"\nwhen.flags = ["famous"]\nthen = ["hold"]',
     "r", "when.flags", "unknown flags"),
    ('version = 1\n[[rule]]\nname = "r"\nwhen.surface = "post"\nthen = ["hold"]\n'
     '[[rule]]\nname = "r"\nwhen.surface = "post"\nthen = ["hold"]', "r", "name", "duplicate"),
    ('version = 1\n[[rule]]\nname = "R!"\nthen = ["hold"]', "#0", "name", "required"),
    ('version = 1\n[[rule]]\nname = "r"\nwhen.surface = "post"\nthen = []', "r", "then",
     "at least one"),
    ('version = 1\ncolour = "red"', "-", "colour", "unknown key"),
    ('[[rule]]\nname = "r"', "-", "version", "required"),
    ('version = 1\n[thresholds]\nban_channel = 0', "-", "thresholds.ban_channel", "integer"),
    ('version = 1\n[thresholds]\nexplode = 2', "-", "thresholds.explode", "unknown key"),
    ("version = [", "-", "toml", ""),
]


@pytest.mark.parametrize(("text", "rule", "key", "words"), BAD)
def test_validation_errors_name_rule_and_key(text, rule, key, words):
    with pytest.raises(RuleError) as info:
        load_ruleset(text)
    assert info.value.rule == rule and info.value.key == key
    assert words in info.value.message
    assert info.value.code == "invalid_rule"


def test_parse_action_literals():
    assert parse_action("strike") == ActionSpec(ActionKind.STRIKE, 1, 90 * MS_PER_DAY)
    assert parse_action("strike:2:1w") == ActionSpec(ActionKind.STRIKE, 2, 7 * MS_PER_DAY)
    assert parse_action("suspend_account") == ActionSpec(ActionKind.SUSPEND_ACCOUNT)
    assert parse_action("suspend_account:30d").duration_ms == 30 * MS_PER_DAY
    assert parse_duration("15m") == 900_000
    for bad in ("reject:1", "strike:0", "strike:1:2:3", "suspend_account:1d:2d", "ban_channel:x"):
        with pytest.raises(ActionError):
            parse_action(bad)
    with pytest.raises(ActionError):
        parse_duration("99999w")

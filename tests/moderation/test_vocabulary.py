"""One vocabulary: every report category maps onto a decision policy, every policy is
reachable, and decisions apply only to the targets they can act on."""

from __future__ import annotations

import pytest

from tidings.moderation import vocabulary as v
from tidings.moderation.orders import DSA_CATEGORIES
from tidings.moderation.reasons import GROUNDS
from tidings.moderation.review import Decision


def test_every_report_category_maps_to_a_policy() -> None:
    for category, name in v.REPORT_CATEGORIES.items():
        policy = v.policy_of_category(category)
        assert policy.name == name and policy.label in GROUNDS, category
        # the category's own name is accepted where a policy is asked for
        assert v.policy(category) == policy


def test_every_policy_is_reachable_and_has_a_dsa_category() -> None:
    assert set(v.POLICIES) == {label.split(":", 1)[1] for label in GROUNDS}
    reachable = set(v.REPORT_CATEGORIES.values()) | set(v.AUTOMATED_POLICIES)
    assert reachable == set(v.POLICIES)
    for policy in v.POLICIES.values():
        assert policy.dsa_category in DSA_CATEGORIES, policy
        assert v.policy(policy.name) == v.policy(policy.label) == policy


def test_harassment_is_a_policy_of_its_own() -> None:
    harassment = v.policy("harassment")
    assert harassment.label == "policy:harassment"
    assert harassment.dsa_category == "STATEMENT_CATEGORY_CYBER_VIOLENCE"
    assert v.policy("illegal").label == "category:other_illegal"


@pytest.mark.parametrize("name", ["nonsense", "", "policy:nonsense", "category:harassment"])
def test_unknown_policies_are_refused_with_the_choices(name: str) -> None:
    with pytest.raises(v.VocabularyError) as caught:
        v.policy(name)
    assert caught.value.code == "unknown_policy" and "harassment" in str(caught.value)


def test_actions_per_target_and_their_defaults() -> None:
    assert set(v.ACTIONS) == {*v.TARGET_KINDS, v.BANK_ENTRY}
    assert v.actions_for("post")[0] is Decision.REMOVE
    assert v.actions_for("channel")[0] is Decision.BAN_CHANNEL
    assert v.actions_for("account")[0] is Decision.SUSPEND_ACCOUNT
    assert v.actions_for("message")[0] is Decision.SUSPEND_ACCOUNT
    for kind in v.ACTIONS:  # a moderator can always clear or escalate
        assert {Decision.NO_VIOLATION, Decision.ESCALATE} <= set(v.actions_for(kind))
    # every decision applies somewhere
    assert {d for kind in v.TARGET_KINDS for d in v.actions_for(kind)} == set(Decision)
    # without a known account there is nobody to suspend
    assert Decision.SUSPEND_ACCOUNT not in v.actions_for("message", has_account=False)


@pytest.mark.parametrize(("decision", "kind"), [
    (Decision.REMOVE, "message"), (Decision.REMOVE, "channel"), (Decision.REMOVE, "account"),
    (Decision.BAN_CHANNEL, "message"), (Decision.BAN_CHANNEL, "account")])
def test_a_decision_that_cannot_apply_is_refused(decision: Decision, kind: str) -> None:
    with pytest.raises(v.VocabularyError) as caught:
        v.check_action(decision, kind)
    assert caught.value.code == "not_applicable"
    assert ", ".join(v.actions_for(kind)) in str(caught.value)  # says what would do


def test_suspending_needs_an_account() -> None:
    v.check_action(Decision.SUSPEND_ACCOUNT, "message")
    with pytest.raises(v.VocabularyError):
        v.check_action(Decision.SUSPEND_ACCOUNT, "message", has_account=False)

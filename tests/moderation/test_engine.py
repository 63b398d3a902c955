"""The moderation engine: one snapshot in, one decision out, no I/O."""

from __future__ import annotations

import dataclasses

import pytest

from tidings.moderation import actions, rules
from tidings.moderation.actions import ActionKind, Verdict
from tidings.moderation.content import HashedMedia, Signal, TextContent, UrlContent
from tidings.moderation.engine import (
    OPERATOR_GROUND,
    Actor,
    BankInfo,
    Decision,
    Engine,
    Surface,
    content_cause,
    ground_of,
    item_signals,
)
from tidings.moderation.matcher import Matcher
from tidings.moderation.rules import ActorHistory, load_ruleset
from tidings.moderation.signal_types import TextExactSignal

BANNED = "join the attack at dawn"
OTHER = "come to the picnic at noon"
TERROR = ("category:terrorist_content",)
HOLD_ALL = load_ruleset('version = 9\n[[rule]]\nname = "hold-all"\n'
                        'when.surface = ["post"]\nthen = ["hold"]\n')


def text_hash(text: str) -> str:
    return TextExactSignal.hash_from_str(text)


def engine(*banks: BankInfo, entries: tuple[tuple[int, str, str], ...] = ()) -> Engine:
    """An engine over ``entries`` (id, bank, text banked as text_exact)."""
    matcher = Matcher()
    for entry_id, bank, text in entries:
        matcher.add(entry_id, "text_exact", text_hash(text), bank)
    return Engine(matcher, {b.name: b for b in banks})


def signals(*texts: str) -> list[Signal]:
    return [Signal("text_exact", text_hash(t)) for t in texts]


def test_one_surface_and_one_verdict_type() -> None:
    assert Surface is rules.Surface
    assert Verdict is actions.Verdict


def test_nothing_banked_is_allowed_and_visible() -> None:
    decision = Engine().decide(Surface.POST, signals(BANNED))
    assert decision.verdict is Verdict.ALLOW and decision.allowed
    assert decision.state == "visible" and decision.reasons == () and decision.matches == ()
    assert decision.message() == "allowed"


def test_a_labelled_match_rejects_with_its_ground_and_strikes() -> None:
    e = engine(BankInfo("OWN_LIST", labels_by_entry={1: TERROR}),
               entries=((1, "OWN_LIST", BANNED),))
    decision = e.decide(Surface.POST, signals(BANNED), Actor(7, 3))
    assert decision.verdict is Verdict.REJECT and not decision.allowed
    (reason,) = decision.reasons
    assert (reason.bank, reason.entry_id, reason.labels) == ("OWN_LIST", 1, TERROR)
    assert "2021/784" in reason.ground and "terrorist content" in decision.message()
    assert decision.outcome is not None
    kinds = {r.kind for r in decision.outcome.requests}
    assert {ActionKind.REJECT, ActionKind.STRIKE, ActionKind.AUTO_BANK} <= kinds
    assert {r.target for r in decision.outcome.requests if r.kind is ActionKind.STRIKE} == {
        "account:7"}


def test_the_ground_comes_from_the_labels_never_the_bank_name() -> None:
    e = engine(BankInfo("TERROR_LIST"), BankInfo("PLAIN_LIST", labels_by_entry={2: TERROR}),
               entries=((1, "TERROR_LIST", BANNED), (2, "PLAIN_LIST", OTHER)))
    unlabelled = e.decide(Surface.POST, signals(BANNED))
    assert unlabelled.verdict is Verdict.REJECT  # bank-match-reject: any own bank
    assert [r.ground for r in unlabelled.reasons] == [OPERATOR_GROUND]
    labelled = e.decide(Surface.POST, signals(OTHER))
    assert "2021/784" in labelled.reasons[0].ground


def test_ground_of_takes_short_and_full_labels_gravest_first() -> None:
    assert ground_of(["spam"]) == ground_of(["category:spam"]) == "spam (terms of service)"
    assert "2021/784" in ground_of(["category:spam", "category:terrorist_content"])
    assert ground_of(["behaviour:recruitment"]) == OPERATOR_GROUND
    assert ground_of([]) == OPERATOR_GROUND


def test_a_disabled_bank_does_not_match() -> None:
    e = engine(BankInfo("OFF_LIST", enabled=False, labels_by_entry={1: TERROR}),
               entries=((1, "OFF_LIST", BANNED),))
    decision = e.decide(Surface.POST, signals(BANNED))
    assert decision.verdict is Verdict.ALLOW and decision.matches == ()


def test_an_allow_list_suppresses_its_own_item_only() -> None:
    e = engine(BankInfo("OWN_LIST", labels_by_entry={1: TERROR, 2: TERROR}),
               BankInfo("ALLOWED", negative=True),
               entries=((1, "OWN_LIST", BANNED), (2, "OWN_LIST", OTHER),
                        (3, "ALLOWED", BANNED)))
    alone = e.decide(Surface.POST, signals(BANNED), items=[signals(BANNED)])
    assert alone.verdict is Verdict.ALLOW
    assert [(s.match.entry_id, s.by.entry_id) for s in alone.suppressed] == [(1, 3)]
    both = signals(BANNED) + signals(OTHER)
    decision = e.decide(Surface.POST, both, items=[signals(BANNED), signals(OTHER)])
    assert decision.verdict is Verdict.REJECT
    assert [m.entry_id for m in decision.matches] == [2]
    assert [m.entry_id for m in e.negative_matches(signals(BANNED))] == [3]


def test_partner_banks_hold_unless_trusted() -> None:
    partner = BankInfo("PARTNER_LIST", partner=True, labels_by_entry={1: TERROR})
    e = engine(partner, entries=((1, "PARTNER_LIST", BANNED),))
    assert e.trust_of("PARTNER_LIST") == rules.TRUST_PARTNER
    assert e.trust_of("UNKNOWN") == rules.TRUST_OWN
    assert e.decide(Surface.POST, signals(BANNED)).verdict is Verdict.HOLD
    trusted = e.with_banks({"PARTNER_LIST": dataclasses.replace(partner, trusted=True)})
    assert trusted.decide(Surface.POST, signals(BANNED)).verdict is Verdict.REJECT


def test_a_snapshot_is_never_edited_only_replaced() -> None:
    first = engine(BankInfo("OWN_LIST", labels_by_entry={1: TERROR}),
                   entries=((1, "OWN_LIST", BANNED),))
    with pytest.raises(TypeError):
        first.banks["OTHER"] = BankInfo("OTHER")  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.ruleset = HOLD_ALL  # type: ignore[misc]
    held = first.with_rules(HOLD_ALL)
    assert held.decide(Surface.POST, signals(OTHER)).verdict is Verdict.HOLD
    assert held.decide(Surface.POST, signals(OTHER)).state == "held"
    assert first.decide(Surface.POST, signals(OTHER)).verdict is Verdict.ALLOW
    emptied = first.with_banks({})
    assert emptied.matcher is first.matcher and "OWN_LIST" in first.banks
    assert emptied.decide(Surface.POST, signals(BANNED)).reasons[0].ground == OPERATOR_GROUND


def test_history_escalates_through_the_rules() -> None:
    e = engine(BankInfo("OWN_LIST", labels_by_entry={1: TERROR}),
               entries=((1, "OWN_LIST", BANNED),))
    decision = e.decide(Surface.POST, signals(BANNED), Actor(7, 3),
                        ActorHistory(active_strikes=4))
    assert decision.outcome is not None
    kinds = {r.kind for r in decision.outcome.requests}
    assert {ActionKind.BAN_CHANNEL, ActionKind.SUSPEND_ACCOUNT} <= kinds


def test_rejection_details_name_bank_labels_ground_and_rules() -> None:
    e = engine(BankInfo("OWN_LIST", labels_by_entry={1: TERROR}),
               entries=((1, "OWN_LIST", BANNED),))
    details = e.decide(Surface.EDIT, signals(BANNED)).rejection_details()
    assert details["surface"] == "edit" and details["ruleset_version"] == 2
    assert "terror-hash-reject" in details["rules"]
    assert details["reasons"] == [{"bank": "OWN_LIST", "labels": list(TERROR),
                                   "ground": ground_of(TERROR), "signal_type": "text_exact"}]


def test_retro_scan_matches_new_entries_under_the_snapshot() -> None:
    e = engine(BankInfo("OWN_LIST"), BankInfo("ALLOWED", negative=True),
               entries=((9, "ALLOWED", OTHER),))
    fresh = Matcher()
    fresh.add(1, "text_exact", text_hash(BANNED), "OWN_LIST")
    fresh.add(2, "text_exact", text_hash(OTHER), "OWN_LIST")
    labels = {1: TERROR, 2: TERROR}
    (found,) = e.match_new(fresh, labels, signals(BANNED))
    assert found.entry_id == 1 and found.labels == frozenset(TERROR)
    assert e.match_new(fresh, labels, signals(OTHER)) == ()  # the allow list clears it
    e.matcher.quarantined.add(1)
    assert e.match_new(fresh, labels, signals(BANNED)) == ()
    decision = e.decide_matched(Surface.POST, Actor(7, 3), signals(BANNED), (found,),
                                ActorHistory())
    assert decision.verdict is Verdict.REJECT and decision.reasons == ()
    assert [m.entry_id for m in decision.matches] == [1]


def test_item_signals_and_cause() -> None:
    stored = Signal("sha256", "ab" * 32)
    items = item_signals([TextContent(BANNED), HashedMedia((stored,)),
                          UrlContent("https://bad.example/x")])
    assert Signal("text_exact", text_hash(BANNED)) in items[0]
    assert items[1] == [stored] and items[2] == [Signal("url", "https://bad.example/x")]
    flat = [s for item in items for s in item]
    assert content_cause(flat) == content_cause(list(reversed(flat)))
    assert content_cause(flat).startswith("sha256:")
    assert content_cause(flat) != content_cause(flat[:1])


def test_decision_values_default_to_nothing_matched() -> None:
    decision = Decision(Verdict.REJECT, Surface.POST)
    assert decision.message() == "this cannot be published here"
    assert decision.rejection_details() == {"reasons": [], "surface": "post"}

"""The moderation service: the I/O around the engine, collaborators given by constructor."""

from __future__ import annotations

from typing import Any

import pytest

from tidings.moderation.content import TextContent
from tidings.moderation.engine import Actor, BankInfo, Decision, Engine, Surface, Verdict
from tidings.moderation.matcher import Matcher
from tidings.moderation.rules import ActorHistory, load_ruleset
from tidings.moderation.signal_types import TextExactSignal
from tidings.services.moderation import (
    HELD,
    VISIBLE,
    ContentRejected,
    ModerationService,
    gate_decision,
)

BANNED = "join the attack at dawn"
TERROR = ("category:terrorist_content",)


def banked() -> Engine:
    matcher = Matcher()
    matcher.add(1, "text_exact", TextExactSignal.hash_from_str(BANNED), "OWN_LIST")
    return Engine(matcher, {"OWN_LIST": BankInfo("OWN_LIST", labels_by_entry={1: TERROR})})


class Collaborators:
    """Records what the service hands its collaborators."""

    def __init__(self, strikes: int = 0) -> None:
        self.strikes = strikes
        self.asked: list[Actor] = []
        self.applied: list[Decision] = []
        self.watched: list[Decision] = []
        self.observed: list[Decision] = []

    async def history(self, actor: Actor) -> ActorHistory:
        self.asked.append(actor)
        return ActorHistory(active_strikes=self.strikes)

    async def sink(self, decision: Decision) -> dict[str, Any] | None:
        self.applied.append(decision)
        return {"statement_id": "sor-1"}

    async def watch(self, decision: Decision) -> None:
        self.watched.append(decision)

    def service(self, engine: Engine) -> ModerationService:
        return ModerationService(engine, observe=self.observed.append,
                                 history=self.history, sink=self.sink, watch=self.watch)


async def test_a_clean_post_is_visible_and_touches_no_collaborator() -> None:
    # No default rule can fire on an unmatched post: its author's history (a database
    # read) is not looked up.
    seen = Collaborators()
    state, decision = await gate_decision(seen.service(banked()), Surface.POST,
                                          [TextContent("hello")], Actor(7, 3))
    assert state == VISIBLE and decision.verdict is Verdict.ALLOW
    assert seen.asked == [] and seen.observed == [decision]
    assert seen.applied == [] and seen.watched == []


async def test_history_is_read_when_a_rule_can_fire_without_a_match() -> None:
    # The default rule holding a banned owner's new channel needs the owner's history
    # although nothing matched.
    seen = Collaborators()
    owner = Actor(7, 3, flags=frozenset({"new_channel"}))
    await gate_decision(seen.service(banked()), Surface.CHANNEL_TITLE,
                        [TextContent("my channel")], owner)
    assert seen.asked == [owner]


async def test_history_is_read_when_something_matched() -> None:
    seen = Collaborators()
    with pytest.raises(ContentRejected):
        await gate_decision(seen.service(banked()), Surface.POST, [TextContent(BANNED)],
                            Actor(7, 3))
    assert seen.asked == [Actor(7, 3)]


async def test_an_actor_rule_on_unmatched_posts_still_sees_the_history() -> None:
    rules = load_ruleset('version = 3\n[[rule]]\nname = "hold-struck"\n'
                         'when.surface = ["post"]\nwhen.actor.min_strikes = 2\n'
                         'then = ["hold"]\n')
    seen = Collaborators(strikes=2)
    state, _ = await gate_decision(seen.service(banked().with_rules(rules)), Surface.POST,
                                   [TextContent("hello")], Actor(7, 3))
    assert state == HELD and seen.asked == [Actor(7, 3)]


async def test_a_banked_post_is_rejected_after_its_actions_are_applied() -> None:
    seen = Collaborators(strikes=4)
    with pytest.raises(ContentRejected) as raised:
        await gate_decision(seen.service(banked()), Surface.POST, [TextContent(BANNED)],
                            Actor(7, 3))
    details = raised.value.details
    assert details["statement_of_reasons"] == {"statement_id": "sor-1"}
    assert details["reasons"][0]["bank"] == "OWN_LIST" and details["surface"] == "post"
    (applied,) = seen.applied
    assert seen.watched == [applied]
    assert applied.outcome is not None
    assert any(r.rule.startswith("threshold:") for r in applied.outcome.requests)


async def test_a_rule_reload_swaps_the_snapshot_whole() -> None:
    seen = Collaborators()
    service = seen.service(banked())
    before = service.engine
    service.swap(before.with_rules(load_ruleset(
        'version = 5\n[[rule]]\nname = "hold-posts"\nwhen.surface = ["post"]\n'
        'then = ["hold"]\n')))
    state, decision = await gate_decision(service, Surface.POST, [TextContent("hello")])
    assert state == HELD and decision.outcome is not None
    assert decision.outcome.ruleset_version == 5
    assert before.ruleset.version == 2 and service.ruleset.version == 5
    assert service.matcher is before.matcher and service.banks == before.banks

"""The one gate every public surface passes before it is stored or shown.

The decision itself is the pure engine's (``moderation/engine.py``): hash, match against
the enabled banks, evaluate the active rules. This module is the I/O around it: it holds
the current engine snapshot (bank sync and rule reloads swap it whole), hashes big
media off the event loop, looks up the actor's history, and after a decision tells the
partner-signal watch, applies the rules' action requests through the action sink and
turns a reject into the error the publisher sees. Private end-to-end encrypted content
never comes here: the server cannot read it and does not try.

Reject is an error the publisher sees (422 ``content_rejected`` with the decision's
message and its reasons: bank, labels, ground), as the statement of reasons in DSA
article 17 requires a ground to be given. Hold means "store it, show it to no one but
its authors until a moderator decides": the returned state is ``held``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Final

from tidings.moderation import Match, Matcher, MediaContent, Signal, TextContent
from tidings.moderation import rules as R
from tidings.moderation.content import Content, HashedMedia
from tidings.moderation.engine import (
    Actor,
    BankInfo,
    Decision,
    Engine,
    Suppression,
    Surface,
    Verdict,
    item_signals,
)
from tidings.moderation.errors import VideoRefusedError
from tidings.moderation.visibility import PostState
from tidings.protocol.errors import Unprocessable

__all__ = [
    "HELD", "REMOVED", "VISIBLE", "ActionSink", "Actor", "ContentRejected", "Decision",
    "HistoryProvider", "ModerationService", "Surface", "Verdict", "Watch", "gate",
    "gate_decision", "rejection", "text_contents",
]

VISIBLE: Final = PostState.VISIBLE.value
HELD: Final = PostState.HELD.value
REMOVED: Final = PostState.REMOVED.value

CHECK_IN_THREAD_BYTES = 256 * 1024
"""Content larger than this is hashed off the event loop (PDQ of a photo takes ms)."""

HistoryProvider = Callable[[Actor], Awaitable[R.ActorHistory]]
"""Active strikes, account age, prior bans of an actor (the action service's)."""
ActionSink = Callable[[Decision], Awaitable[dict[str, Any] | None]]
"""Applies a decision's action requests; returns the statement of reasons, if any."""
Watch = Callable[[Decision], Awaitable[None]]
"""Told of each publishing check that matched (partner-signal safety)."""


class ContentRejected(Unprocessable):
    default_code = "content_rejected"


class ModerationService:
    """The current engine snapshot and the I/O of a check.

    ``history``, ``sink`` and ``watch`` are given at construction; the kernel gives
    hooks (``services/events.Hook``) that the services built after this one answer."""

    def __init__(self, engine: Engine | None = None, *,
                 observe: Callable[[Decision], None] | None = None,
                 history: HistoryProvider | None = None,
                 sink: ActionSink | None = None,
                 watch: Watch | None = None) -> None:
        self._engine = engine if engine is not None else Engine()
        self.observe = observe
        """Told of every decision (the operator's metrics count matches by bank)."""
        self.history = history
        self.sink = sink
        self.watch = watch

    # --- the snapshot ----------------------------------------------------------------
    @property
    def engine(self) -> Engine:
        """The current snapshot: take it once per check."""
        return self._engine

    def swap(self, engine: Engine) -> None:
        """Replace the snapshot whole (bank sync, rule reloads)."""
        self._engine = engine

    @property
    def matcher(self) -> Matcher:
        return self._engine.matcher

    @property
    def banks(self) -> Mapping[str, BankInfo]:
        return self._engine.banks

    @property
    def ruleset(self) -> R.RuleSet:
        return self._engine.ruleset

    def trust_of(self, bank: str) -> str:
        return self._engine.trust_of(bank)

    def match(self, signals: Sequence[Signal]) -> tuple[list[Match], list[Suppression]]:
        return self._engine.match(signals)

    # --- a check ---------------------------------------------------------------------
    async def check(self, surface: Surface, contents: Sequence[Content],
                    actor: Actor | None = None) -> Decision:
        """``HashedMedia`` contents carry signals computed at upload: matched as they
        are, nothing is decoded again."""
        size = sum(len(c.data) for c in contents if isinstance(c, MediaContent))
        if size > CHECK_IN_THREAD_BYTES or any(
                isinstance(c, MediaContent) and c.is_video for c in contents):
            items = await asyncio.to_thread(_items, contents)
        else:
            items = _items(contents)
        signals = [s for item in items for s in item]
        engine = self._engine  # one snapshot for the whole check
        matches, suppressed = engine.match(signals, items)
        history = R.ActorHistory()
        if (actor is not None and self.history is not None
                and engine.needs_history(surface, bool(matches or suppressed), actor)):
            history = await self.history(actor)
        decision = engine.decide_on(surface, signals, matches, suppressed, actor, history)
        if self.observe is not None:
            self.observe(decision)
        return decision

    def decide(self, surface: Surface, signals: Sequence[Signal], actor: Actor | None = None,
               history: R.ActorHistory | None = None, cause: str | None = None,
               items: Sequence[Sequence[Signal]] | None = None) -> Decision:
        """The current snapshot's decision (``Engine.decide``), counted by ``observe``."""
        decision = self._engine.decide(surface, signals, actor, history, cause, items)
        if self.observe is not None:
            self.observe(decision)
        return decision


def _items(contents: Sequence[Content]) -> list[list[Signal]]:
    try:
        return item_signals(contents)
    except VideoRefusedError as exc:  # a video we cannot see is not published
        raise Unprocessable(str(exc), exc.code) from exc


def rejection(decision: Decision, statement: dict[str, Any] | None = None
              ) -> ContentRejected:
    extra = decision.rejection_details()
    if statement is not None:
        extra["statement_of_reasons"] = statement
    return ContentRejected(decision.message(), **extra)


async def gate(moderation: ModerationService, surface: Surface,
               contents: Sequence[Content], actor: Actor | None = None,
               signals: Sequence[Signal] = ()) -> str:
    """Check content before it is stored; returns the state to store it in."""
    return (await gate_decision(moderation, surface, contents, actor, signals))[0]


async def gate_decision(moderation: ModerationService, surface: Surface,
                        contents: Sequence[Content], actor: Actor | None = None,
                        signals: Sequence[Signal] = ()) -> tuple[str, Decision]:
    """Check content, apply the rules' actions (strikes, bans, auto-banking; once each)
    and return the state to store it in with the decision (a hold's matches go to
    review). ``signals``: those of media, computed once at upload."""
    contents = [*contents, HashedMedia(tuple(signals))] if signals else list(contents)
    decision = await moderation.check(surface, contents, actor)
    if moderation.watch is not None and (decision.matches or decision.suppressed):
        await moderation.watch(decision)  # quarantine counts, suppression audit
    statement = None
    if moderation.sink is not None and decision.outcome and decision.outcome.requests:
        statement = await moderation.sink(decision)
    if decision.verdict is Verdict.REJECT:
        raise rejection(decision, statement)
    return decision.state, decision


def text_contents(*texts: str) -> list[Content]:
    return [TextContent(t) for t in texts if t]

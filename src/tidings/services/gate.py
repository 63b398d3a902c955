"""Turn a moderation decision into what the channel services do with content.

Reject is an error the publisher sees (422 ``content_rejected`` with the decision's
message and its reasons: bank, labels, ground), as the statement of reasons in
DSA article 17 requires a ground to be given. Hold means "store it, show it to no one
but its authors until a moderator decides": the returned state is ``held``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tidings.moderation import MediaContent, Signal, TextContent, UrlContent
from tidings.moderation.content import HashedMedia
from tidings.protocol.errors import Unprocessable
from tidings.services.moderation import Actor, Decision, ModerationService, Surface, Verdict

VISIBLE = "visible"
HELD = "held"
REMOVED = "removed"

Content = TextContent | MediaContent | UrlContent | HashedMedia


class ContentRejected(Unprocessable):
    default_code = "content_rejected"


def rejection(decision: Decision, statement: dict[str, Any] | None = None
              ) -> ContentRejected:
    reasons = [{"bank": r.bank, "labels": list(r.labels), "ground": r.ground,
                "signal_type": r.signal_type} for r in decision.reasons]
    extra: dict[str, Any] = {}
    if decision.outcome is not None:
        extra["rules"] = list(decision.outcome.fired)
        extra["ruleset_version"] = decision.outcome.ruleset_version
    if statement is not None:
        extra["statement_of_reasons"] = statement
    return ContentRejected(decision.message(), reasons=reasons, surface=str(decision.surface),
                           **extra)


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
    return (HELD if decision.verdict is Verdict.HOLD else VISIBLE), decision


def text_contents(*texts: str) -> list[Content]:
    return [TextContent(t) for t in texts if t]

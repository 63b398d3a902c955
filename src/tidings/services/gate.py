"""Turn a moderation decision into what the channel services do with content.

Reject is an error the publisher sees (422 ``content_rejected`` with the decision's
message and its reasons: bank, labels, ground), as the statement of reasons in
DSA article 17 requires a ground to be given. Hold means "store it, show it to no one
but its authors until a moderator decides": the returned state is ``held``.
"""

from __future__ import annotations

from collections.abc import Sequence

from tidings.moderation import MediaContent, TextContent, UrlContent
from tidings.protocol.errors import Unprocessable
from tidings.services.moderation import Decision, ModerationService, Surface, Verdict

VISIBLE = "visible"
HELD = "held"
REMOVED = "removed"

Content = TextContent | MediaContent | UrlContent


class ContentRejected(Unprocessable):
    default_code = "content_rejected"


def rejection(decision: Decision) -> ContentRejected:
    reasons = [{"bank": r.bank, "labels": list(r.labels), "ground": r.ground,
                "signal_type": r.signal_type} for r in decision.reasons]
    return ContentRejected(decision.message(), reasons=reasons, surface=str(decision.surface))


async def gate(moderation: ModerationService, surface: Surface,
               contents: Sequence[Content]) -> str:
    """Check content before it is stored; returns the state to store it in."""
    return (await gate_decision(moderation, surface, contents))[0]


async def gate_decision(moderation: ModerationService, surface: Surface,
                        contents: Sequence[Content]) -> tuple[str, Decision]:
    """Like :func:`gate`, also returning the decision (a hold's matches go to review)."""
    decision = await moderation.check(surface, list(contents))
    if decision.verdict is Verdict.REJECT:
        raise rejection(decision)
    return (HELD if decision.verdict is Verdict.HOLD else VISIBLE), decision


def text_contents(*texts: str) -> list[Content]:
    return [TextContent(t) for t in texts if t]

"""The content_type of an automated statement comes from what was hashed."""

from __future__ import annotations

from tidings.moderation.content import Signal
from tidings.moderation.engine import Decision, Surface, Verdict
from tidings.moderation.reasons import ContentKind
from tidings.services.actions import content_kinds


def kinds(*types: str) -> list[ContentKind]:
    signals = tuple(Signal(t, "00") for t in types)
    return content_kinds(Decision(Verdict.REJECT, Surface.POST, signals=signals))


def test_kinds_follow_the_signals() -> None:
    assert kinds("text_exact", "text_near") == [ContentKind.TEXT]
    assert kinds("pdq", "md5", "sha256", "text_exact") == [ContentKind.TEXT, ContentKind.IMAGE]
    assert kinds("url", "text_exact") == [ContentKind.TEXT, ContentKind.LINK]
    assert kinds("md5", "sha256") == [ContentKind.OTHER]  # a file of no known kind
    assert kinds() == [ContentKind.TEXT]

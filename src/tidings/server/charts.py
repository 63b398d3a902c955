"""Bar charts as geometry for server-rendered inline SVG.

The CSP forbids scripts and inline styles, so charts are drawn on the server: this
module turns ``(label, value)`` pairs into rectangles and text positions, and the
template (``transparency.html``) writes them as ``<rect>``/``<text>`` with classes
styled by the static stylesheet. Pure: values in, coordinates out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

ROW_HEIGHT: Final = 22
ROW_GAP: Final = 6
LABEL_WIDTH: Final = 210
VALUE_WIDTH: Final = 56
CHART_WIDTH: Final = 640
COLUMN_AREA_HEIGHT: Final = 160
AXIS_HEIGHT: Final = 34
COLUMN_PAD: Final = 20
"""Room left and right of the columns for the first and last day's label."""


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: int
    x: int
    y: int
    width: int
    height: int
    label_x: int
    label_y: int
    value_x: int
    value_y: int
    show_label: bool = True


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    kind: str
    """``bars`` (horizontal, one row per label) or ``columns`` (one per day)."""
    width: int
    height: int
    bars: tuple[Bar, ...]
    baseline_y: int = 0

    @property
    def empty(self) -> bool:
        return not self.bars


def _scale(value: int, top: int, span: int) -> int:
    if top <= 0 or value <= 0:
        return 0
    return max(1, round(span * value / top))


def bar_chart(title: str, items: Sequence[tuple[str, int]]) -> Chart:
    """Horizontal bars, largest first (ties by label), labels on the left."""
    ordered = sorted(items, key=lambda kv: (-kv[1], kv[0]))
    top = max((v for _, v in ordered), default=0)
    span = CHART_WIDTH - LABEL_WIDTH - VALUE_WIDTH
    bars = []
    for i, (label, value) in enumerate(ordered):
        y = i * (ROW_HEIGHT + ROW_GAP)
        width = _scale(value, top, span)
        bars.append(Bar(label, value, LABEL_WIDTH, y, width, ROW_HEIGHT,
                        LABEL_WIDTH - 8, y + ROW_HEIGHT - 6,
                        LABEL_WIDTH + width + 6, y + ROW_HEIGHT - 6))
    height = max(len(bars) * (ROW_HEIGHT + ROW_GAP) - ROW_GAP, ROW_HEIGHT)
    return Chart(title, "bars", CHART_WIDTH, height, tuple(bars))


def column_chart(title: str, items: Sequence[tuple[str, int]], label_every: int = 0) -> Chart:
    """Vertical columns in the given order (e.g. one per day); with many columns only
    every ``label_every``-th label is drawn (all when 0 and there are at most 14)."""
    count = len(items)
    if label_every <= 0:
        label_every = 1 if count <= 14 else max(1, count // 7)
    top = max((v for _, v in items), default=0)
    slot = (CHART_WIDTH - 2 * COLUMN_PAD) / max(count, 1)
    width = max(1, int(slot * 0.8))
    bars = []
    for i, (label, value) in enumerate(items):
        h = _scale(value, top, COLUMN_AREA_HEIGHT - 16)
        x = int(COLUMN_PAD + i * slot + (slot - width) / 2)
        y = COLUMN_AREA_HEIGHT - h
        bars.append(Bar(label, value, x, y, width, h, x + width // 2,
                        COLUMN_AREA_HEIGHT + 14, x + width // 2, y - 3,
                        show_label=i % label_every == 0))
    return Chart(title, "columns", CHART_WIDTH, COLUMN_AREA_HEIGHT + AXIS_HEIGHT, tuple(bars),
                 baseline_y=COLUMN_AREA_HEIGHT)

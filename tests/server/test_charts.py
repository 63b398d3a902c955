"""Chart geometry for the server-drawn SVG: to scale, ordered, labels thinned."""

from __future__ import annotations

from tidings.server.charts import CHART_WIDTH, LABEL_WIDTH, VALUE_WIDTH, bar_chart, column_chart


def test_bars_are_to_scale_largest_first() -> None:
    chart = bar_chart("t", [("b", 5), ("a", 10), ("c", 0), ("d", 5)])
    assert [b.label for b in chart.bars] == ["a", "b", "d", "c"]
    span = CHART_WIDTH - LABEL_WIDTH - VALUE_WIDTH
    assert chart.bars[0].width == span and chart.bars[1].width == span // 2
    assert chart.bars[3].width == 0
    ys = [b.y for b in chart.bars]
    assert ys == sorted(ys) and len(set(ys)) == 4
    assert chart.height >= chart.bars[-1].y + chart.bars[-1].height


def test_columns_keep_order_and_thin_labels() -> None:
    days = [(f"2026-01-{d:02d}", d % 3) for d in range(1, 32)]
    chart = column_chart("t", days)
    assert [b.label for b in chart.bars] == [d for d, _ in days]
    assert all(b.y + b.height == chart.baseline_y for b in chart.bars)
    tallest = max(chart.bars, key=lambda b: b.height)
    assert tallest.value == 2
    assert 4 <= sum(b.show_label for b in chart.bars) <= 8
    assert all(b.show_label for b in column_chart("t", days[:7]).bars)
    xs = [b.x for b in chart.bars]
    assert xs == sorted(xs) and xs[-1] + chart.bars[-1].width <= CHART_WIDTH


def test_empty_and_all_zero() -> None:
    assert bar_chart("t", []).empty
    flat = column_chart("t", [("a", 0), ("b", 0)])
    assert not flat.empty and all(b.height == 0 for b in flat.bars)

"""Standalone SVG files of benchmark figures, drawn with the project's own chart
geometry (``tidings.server.charts``, which draws the transparency page's charts).

A chart here is columns grouped by concurrency, one per series (e.g. Tidings and
Synapse at C = 1, 8, 32), each labelled with its value; series are told apart by
colour and a legend. A file written here is a picture for docs/, not a page: it may
carry its own style attributes (the server's CSP concerns served pages only).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

from tidings.server.charts import Chart, column_chart

GAP = "\x00"
COLOURS = ("#2b6cb0", "#c05621", "#2f855a", "#6b46c1")


def grouped(title: str, levels: Sequence[int], series: dict[str, Sequence[float]]) -> Chart:
    """One column per (level, series), in level order; labels ``C=<level>`` under the
    first column of each group."""
    items: list[tuple[str, int]] = []
    for k, c in enumerate(levels):
        if k:
            items.append((GAP, 0))  # an empty slot between groups
        items.extend((f"C={c}" if i == 0 else "", round(values[k]))
                     for i, values in enumerate(series.values()))
    return column_chart(title, items, label_every=1)


def write(path: Path, chart: Chart, series: Sequence[str], unit: str, note: str) -> None:
    """Write ``chart`` as an SVG file, with a legend and a note under it."""
    count = max(1, len(series))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" '
             f'viewBox="-10 -40 {chart.width + 20} {chart.height + 90}" '
             f'width="{chart.width + 20}" height="{chart.height + 90}" '
             f'font-family="sans-serif" font-size="12">',
             f"<title>{escape(chart.title)}</title>",
             f'<text x="0" y="-22" font-size="14" font-weight="bold">{escape(chart.title)}'
             f"</text>",
             f'<line x1="0" y1="{chart.baseline_y}" x2="{chart.width}" y2="{chart.baseline_y}" '
             f'stroke="#555"/>']
    slot = chart.bars[1].x - chart.bars[0].x if len(chart.bars) > 1 else 0
    i = -1
    for bar in chart.bars:
        if bar.label == GAP:
            i = -1
            continue
        i += 1
        colour = COLOURS[i % len(COLOURS)]
        parts.append(f'<rect x="{bar.x}" y="{bar.y}" width="{bar.width}" '
                     f'height="{bar.height}" fill="{colour}"/>')
        parts.append(f'<text x="{bar.value_x}" y="{bar.value_y}" text-anchor="middle">'
                     f"{bar.value:,}</text>")
        if bar.label:
            group_x = bar.label_x + (count - 1) * slot // 2
            parts.append(f'<text x="{group_x}" y="{bar.label_y}" text-anchor="middle">'
                         f"{escape(bar.label)}</text>")
    y = chart.height + 20
    for i, name in enumerate(series):
        x = i * 200
        parts.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" '
                     f'fill="{COLOURS[i % len(COLOURS)]}"/>')
        parts.append(f'<text x="{x + 18}" y="{y}">{escape(name)} ({escape(unit)})</text>')
    parts.append(f'<text x="0" y="{y + 22}" fill="#555">{escape(note)}</text>')
    parts.append("</svg>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts) + "\n")

"""The visible text of a Textual SVG screenshot, row by row, at its columns.

Rich's SVG export writes each run of same-styled characters as one ``<text>`` with its
``x`` (column times the cell width) and the clip path of its row; spaces on the
default background are not written at all, so columns are recovered from ``x``.
Styles, colours and ids are ignored: this compares what a person reads.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from rich.cells import cell_len

SVG = "{http://www.w3.org/2000/svg}"
ROW = re.compile(r"line-(\d+)\)")
CELL_WIDTH = 12.2
"""Rich's export: font size 20 times its 0.61 character width."""


def text_lines(svg: str) -> list[str]:
    """Each terminal row's characters, right-trimmed; trailing empty rows dropped."""
    root = ET.fromstring(svg)  # noqa: S314
    rows: dict[int, list[tuple[int, str]]] = {}
    for node in root.iter(f"{SVG}text"):
        match = ROW.search(node.get("clip-path", ""))
        if match is None:
            continue
        column = round(float(node.get("x", "0")) / CELL_WIDTH) - 1
        text = (node.text or "").replace("\xa0", " ")
        rows.setdefault(int(match.group(1)), []).append((column, text))
    lines = []
    for i in range(max(rows, default=-1) + 1):
        line = ""
        for column, text in sorted(rows.get(i, [])):
            line += " " * max(0, column - cell_len(line)) + text
        lines.append(line.rstrip())
    while lines and not lines[-1]:
        lines.pop()
    return lines

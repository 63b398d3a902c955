"""The repository's documents: no merge debris, and a LICENSE that is the licence
pyproject.toml declares."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKER = re.compile(r"^(<{7}|>{7}|\|{7})( |$)", re.MULTILINE)
"""Git's conflict markers. A lone ``=======`` is also a Markdown heading underline, so
the two ends and the diff3 base marker are what give a conflict away."""
LICENCE_TITLES = {"AGPL-3.0-or-later": ("GNU AFFERO GENERAL PUBLIC LICENSE", "Version 3")}


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def test_no_conflict_markers_in_the_documents() -> None:
    found = [f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}"
             for path in documents()
             for text in [path.read_text(encoding="utf-8")]
             for m in MARKER.finditer(text)]
    assert found == [], f"unresolved merge conflicts at {found}"


def test_the_marker_pattern_finds_a_conflict() -> None:
    conflict = "a\n<<<<<<< HEAD\nours\n=======\ntheirs\n>>>>>>> feat\nTitle\n=======\n"
    assert len(MARKER.findall(conflict)) == 2
    assert not MARKER.search("Title\n=======\n<<<<<<<<< not one\n")


def test_license_file_matches_pyproject() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"]
    spdx = declared["text"] if isinstance(declared, dict) else declared
    head = (ROOT / "LICENSE").read_text(encoding="utf-8")[:200]
    assert all(words in head for words in LICENCE_TITLES[spdx]), spdx

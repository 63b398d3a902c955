"""The published name and text patterns (server/published.py) say what the services take.

Values drawn from each pattern are taken by the service's own check, and values the
pattern refuses that the service would take are looked for among near misses, so a
pattern can be neither looser nor (for these samples) stricter than the rule.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.protocol import handles, names
from tidings.server import published


def _takes(check: Callable[[str], object], value: str) -> bool:
    try:
        check(value)
    except ValueError:
        return False
    return True


def _title(value: str) -> None:
    title = handles.clean_channel_title(value)
    if names.invisible(title) is not None:
        raise ValueError(title)


RULES: list[tuple[str, str, Callable[[str], object]]] = [
    ("username", published.USERNAME, handles.normalize_username),
    ("handle", published.HANDLE, handles.normalize_handle),
    ("title", published.CHANNEL_TITLE, _title),
    ("description", published.CHANNEL_DESCRIPTION, handles.clean_channel_description),
]
SAMPLES = ["", " ", "ab", "abc", " @Abc_1 ", "a\r\nb", "a\rb", "a\x05b", "\xa0x\u3000",
           "x\u00ady", "x\u200dy", "Tidings news", "a" * 32, "a" * 33, "x" * 129,
           " " + "x" * 128 + "\r\n", "\u2028hello\u2029", "héllo wörld", "tab\there"]


@pytest.mark.parametrize(("name", "pattern", "check"), RULES, ids=[r[0] for r in RULES])
def test_pattern_matches_the_rule_on_samples(
        name: str, pattern: str, check: Callable[[str], object]) -> None:
    for flags in (0, re.ASCII):  # schemathesis reads patterns with re.ASCII first
        compiled = re.compile(pattern, flags)
        for sample in SAMPLES:
            assert bool(compiled.search(sample)) == _takes(check, sample), (name, sample)


@pytest.mark.parametrize(("name", "pattern", "check"), RULES, ids=[r[0] for r in RULES])
def test_drawn_values_are_taken(name: str, pattern: str,
                                check: Callable[[str], object]) -> None:
    @given(st.from_regex(re.compile(pattern.removesuffix("$") + r"\Z", re.ASCII)))
    @settings(max_examples=150, deadline=None)
    def taken(value: str) -> None:
        assert _takes(check, value), (name, value)

    taken()


def test_invisible_ranges_are_the_rule() -> None:
    """INVISIBLE_RANGES is every character names.invisible refuses on its own."""
    listed = {cp for a, b in published.INVISIBLE_RANGES for cp in range(a, b + 1)}
    rule = {*names.BLANK_LOOKING, *names.BIDI_CONTROLS, *names.JOINERS}
    rule |= {cp for cp in range(0x110000)
             if (unicodedata.category(chr(cp)) == "Zs" and cp != 0x20)
             or unicodedata.category(chr(cp)) == "Cf"}
    assert listed == rule

"""The device stream's wire rules: unsafe JSON escapes are found exactly."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.protocol.stream import FrameError, parse_client_frame, unsafe_escape


def _unsafe(value: str) -> bool:
    return any(ch == "\0" or 0xD800 <= ord(ch) <= 0xDFFF for ch in value)


@given(st.lists(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0xFFFF,
                                               exclude_categories=())), max_size=4))
def test_unsafe_escape_matches_what_json_would_produce(values: list[str]) -> None:
    """Whatever the strings (NUL, lone or paired surrogates, backslashes), the scanner
    flags a JSON text exactly when decoding it yields a NUL or a lone surrogate."""
    text = json.dumps(values)  # ensure_ascii: every non-ASCII character is escaped
    decoded = json.loads(text)
    assert (unsafe_escape(text) is not None) == any(_unsafe(v) for v in decoded)


@pytest.mark.parametrize(("text", "found"), [
    (r'["\ud800"]', True), (r'["\udfff x"]', True), (r'["\u0000"]', True),
    (r'["\\ud800"]', False), (r'["\\\ud800"]', True), (r'["\ud83d\ude00"]', False),
    (r'["\uD83D\uDE00"]', False), (r'["\u00e9"]', False), ('["plain"]', False),
])
def test_unsafe_escape_examples(text: str, found: bool) -> None:
    assert (unsafe_escape(text) is not None) is found


def test_client_frames_with_unsafe_escapes_are_refused() -> None:
    with pytest.raises(FrameError, match="lone surrogate"):
        parse_client_frame(r'{"type": "send", "ref": "\ud800"}')
    with pytest.raises(FrameError, match="NUL"):
        parse_client_frame(r'{"type": "hello", "token": "a\u0000"}')

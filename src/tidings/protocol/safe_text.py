"""Untrusted text made safe to show in a terminal: dangerous characters replaced visibly.

Message bodies, post texts, titles, names and notices come from other people (or from a
server that relays them). Written raw to a terminal, they can move the cursor and repaint
earlier lines (CSI), plant a hyperlink whose visible text lies about its target (OSC 8),
write the reader's clipboard (OSC 52), or reorder what is shown with bidi overrides so
``exe.txt`` reads as ``txt.exe`` (Trojan Source, CVE-2021-42574). Every such character
is replaced by a visible stand-in, never dropped, so a reader (and a moderator reading a
report) sees that something was there:

- C0 controls and DEL become their Unicode Control Pictures (``\\x1b`` -> ``␛``);
  newline and tab are kept in ``safe_text`` (a message may have several lines) and
  replaced in ``safe_line`` (a name or a title is one line and must not fake another);
- C1 controls (U+0080-U+009F, including the 8-bit CSI U+009B), format characters
  (Unicode category Cf: bidi embeddings, overrides and isolates U+202A-U+202E and
  U+2066-U+2069, marks, zero-width space, BOM, tag characters), line and paragraph
  separators and lone surrogates become ``<U+XXXX>``.

Zero-width joiner and non-joiner (U+200D, U+200C) are kept: Persian and Indic scripts
and emoji sequences need them, and they reorder nothing.

This only concerns characters; markup is the renderer's job: show the result as plain
text (a Rich ``Text``, ``markup=False``), never as Rich or Textual markup.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

KEPT_FORMAT = frozenset({"\u200c", "\u200d"})
"""Format characters kept as they are (ZWNJ, ZWJ)."""

REPLACED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""Unicode general categories replaced by ``<U+XXXX>`` (C0 and DEL get pictures)."""

CONTROL_PICTURE_BASE = 0x2400
DEL_PICTURE = "\u2421"

_CANDIDATE = re.compile(r"[^\x20-\x7e\n\t]")
_CANDIDATE_LINE = re.compile(r"[^\x20-\x7e]")


def _visible(match: re.Match[str]) -> str:
    ch = match.group()
    code = ord(ch)
    if code < 0x20:
        return chr(CONTROL_PICTURE_BASE + code)
    if code == 0x7F:
        return DEL_PICTURE
    if ch in KEPT_FORMAT or unicodedata.category(ch) not in REPLACED_CATEGORIES:
        return ch
    return f"<U+{code:04X}>"


def safe_text(value: object) -> str:
    """``value`` as text with control, escape and format characters replaced visibly.

    Keeps newlines and tabs: for message bodies, post texts and notices.
    """
    return _CANDIDATE.sub(_visible, value if isinstance(value, str) else str(value))


def safe_line(value: object) -> str:
    """Like ``safe_text`` but one line: newline and tab are replaced too (names, titles)."""
    return _CANDIDATE_LINE.sub(_visible, value if isinstance(value, str) else str(value))


def unsafe_characters(text: str) -> list[str]:
    """The characters ``safe_text`` would replace, in order (empty: ``text`` is safe)."""
    return [m.group() for m in _CANDIDATE.finditer(text) if _visible(m) != m.group()]


def _json_escape(match: re.Match[str]) -> str:
    ch = match.group()
    return ch if _visible(match) == ch else json.dumps(ch)[1:-1]


def safe_json(value: Any) -> str:
    """``value`` as one line of JSON that is also safe on a terminal.

    ``json.dumps(ensure_ascii=False)`` escapes C0 controls but writes C1 controls, bidi
    overrides and other format characters raw; here they become ``\\uXXXX`` escapes
    (surrogate pairs beyond the BMP), so a program reading the JSON gets the same
    strings and a person who runs ``--json`` in a terminal gets nothing that acts on it.
    """
    return _CANDIDATE.sub(_json_escape, json.dumps(value, ensure_ascii=False))

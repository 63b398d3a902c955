"""Folded forms of text for matching that survives evasion (issue 18, item 4).

``normalize.normalize_text`` keeps words, spaces and letters as written (the
legacy exact and near-duplicate hashes read it). The forms here go further,
because every one of these got a banked text published:

* Cyrillic/Greek homoglyphs -> the UTS #39 skeleton (``protocol/confusables``),
  the same table the name policy uses, applied before case folding so that
  capital look-alikes meet capitals (Cyrillic ``Т`` -> ``T``) and again after;
* invisible characters that are not ``Cf`` (U+3164 HANGUL FILLER, U+2800
  BRAILLE PATTERN BLANK, U+115F, U+FFA0, variation selectors, tags...) ->
  removed: every ``Default_Ignorable_Code_Point`` of Unicode 15
  (DerivedCoreProperties.txt) plus the blank-looking fillers listed below;
* enclosing marks (``Me``: U+20E3 COMBINING ENCLOSING KEYCAP) and non-spacing
  marks -> removed;
* spaces or dots between letters, removed spaces, emoji between words ->
  the *compact* form keeps letters and digits only (``L*`` and ``N*``);
* leetspeak -> a second form where digits and ``@$!|+`` inside a word that
  has letters read as the letters they imitate (``k1ll`` -> ``kill``). Only
  inside words with letters: ``1488`` or ``2024`` stay digits.

``forms`` returns the plain compact form and, when it differs, the leet form.
Both sides of a match use the same function, so a banked text and a post meet
whenever one of their forms is equal (exact) or shares shingles (quotes).
The forms are for comparison only, never for display (they are skeletons).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Final

from tidings.moderation.errors import ContentTooLargeError
from tidings.moderation.limits import MAX_TEXT_CHARS
from tidings.protocol.confusables import skeleton

#: Default_Ignorable_Code_Point (Unicode 15.0 DerivedCoreProperties.txt), as
#: inclusive ranges: soft hyphen, combining grapheme joiner, Arabic letter mark,
#: Hangul fillers, Khmer inherent vowels, Mongolian variation selectors, zero
#: width and bidi controls, invisible operators, variation selectors, BOM,
#: halfwidth Hangul filler, shorthand format controls, musical format
#: controls, tags and the reserved E0000 block.
DEFAULT_IGNORABLE: Final = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160),
    (0x17B4, 0x17B5), (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E),
    (0x2060, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
#: Blank-looking characters that are not default-ignorable but show nothing:
#: U+2800 BRAILLE PATTERN BLANK, U+FFFC OBJECT REPLACEMENT CHARACTER,
#: U+1D159 MUSICAL SYMBOL NULL NOTEHEAD. Whitespace (``Z*``) is whitespace.
BLANK_FILLERS: Final = frozenset({0x2800, 0xFFFC, 0x1D159})

_IGNORED: Final = frozenset(
    cp for lo, hi in DEFAULT_IGNORABLE for cp in range(lo, hi + 1)
) | BLANK_FILLERS
_DROPPED_MARKS: Final = frozenset({"Mn", "Me"})

#: Arabic letter variants folded to one base letter. Hamza-carrying forms
#: (U+0623, U+0625, U+0622, U+0624, U+0626) already lose their hamza in the
#: NFD + remove-Mn step; these are the ones without a canonical decomposition.
ARABIC_FOLD: Final = str.maketrans(
    {
        "\u0671": "\u0627",  # alef wasla -> alef
        "\u0649": "\u064a",  # alef maksura -> yeh
        "\u0629": "\u0647",  # teh marbuta -> heh
        "\u06cc": "\u064a",  # farsi yeh -> arabic yeh
        "\u0640": None,  # tatweel (kashida): pure elongation
    }
)

#: Leet substitutions read inside a word that also has letters.
LEET_DIGITS: Final = {
    "0": "o", "1": "i", "2": "z", "3": "e", "4": "a", "5": "s", "6": "g", "7": "t",
    "8": "b", "9": "g",
}
#: Symbols read as letters next to a word character (``$hoot``, ``thi$``,
#: ``c@t``); ``!`` only between two (``k!ll``): a final ``!`` is punctuation.
LEET_SYMBOLS: Final = {"@": "a", "$": "s", "!": "i", "|": "l", "+": "t", "€": "e"}
#: One-character words written as leet ("open 4 file", "1 said").
LONE_LEET: Final = {"4": "a", "@": "a", "1": "i"}
_TOKEN = re.compile(r"\S+")


class _LazyTable(dict[int, "str | None"]):
    """A ``str.translate`` table filled on first sight of each code point.

    ``translate`` runs in C and calls ``__missing__`` only for code points not
    seen yet, so per-character rules cost Python time once per distinct
    character, not once per character of every post (a 4,096-character post
    went from ~200 ms to a few ms). Growth is bounded by ``CAP`` entries; past
    it, results are computed but not stored.
    """

    CAP = 200_000

    def __init__(self, rule: Callable[[str], str | None]) -> None:
        super().__init__()
        self._rule = rule

    def __missing__(self, cp: int) -> str | None:
        value = self._rule(chr(cp))
        if len(self) < self.CAP:
            self[cp] = value
        return value


def _invisible_rule(ch: str) -> str | None:
    return None if ord(ch) in _IGNORED or unicodedata.category(ch) == "Cf" else ch


def _mark_rule(ch: str) -> str | None:
    return None if unicodedata.category(ch) in _DROPPED_MARKS else ch


_INVISIBLE = _LazyTable(_invisible_rule)
_MARKS = _LazyTable(_mark_rule)


def drop_invisible(text: str) -> str:
    """Remove default-ignorable and blank filler code points, and ``Cf``."""
    return text.translate(_INVISIBLE)


def drop_marks(text: str) -> str:
    """NFD, then remove non-spacing and enclosing marks (diacritics, U+20E3)."""
    return unicodedata.normalize("NFD", text).translate(_MARKS)


def _leet_token(token: str) -> str:
    if not any(ch.isalpha() for ch in token):
        return token
    out = []
    last = len(token) - 1
    for i, ch in enumerate(token):
        if ch in LEET_DIGITS:
            out.append(LEET_DIGITS[ch])
        elif ch in LEET_SYMBOLS:
            before = i > 0 and (token[i - 1].isalnum() or token[i - 1] in LEET_SYMBOLS)
            after = i < last and (token[i + 1].isalnum() or token[i + 1] in LEET_SYMBOLS)
            inside = before and after if ch == "!" else before or after
            out.append(LEET_SYMBOLS[ch] if inside else ch)
        else:
            out.append(ch)
    return "".join(out)


def leet_fold(text: str) -> str:
    """Read leetspeak inside words that have letters; leave numbers alone.

    A run of one-character tokens (``k 1 l l``: letters spaced apart) is read
    as one word, so spacing cannot hide the letters around a digit; a lone
    ``4``/``@`` or ``1`` between words is read as the word "a" or "I".
    """
    words: list[str] = []
    run: list[str] = []
    for token in _TOKEN.findall(text):
        if len(token) == 1:
            run.append(token)
            continue
        if run:
            words.append("".join(run))
            run = []
        words.append(token)
    if run:
        words.append("".join(run))
    return " ".join(LONE_LEET.get(w, w) if len(w) == 1 else _leet_token(w) for w in words)


def _small_capitals() -> dict[int, str]:
    """LATIN LETTER SMALL CAPITAL X -> x, and kra -> k.

    UTS #39 maps lower-case Cyrillic ``т`` and Greek ``τ`` to the small
    capital ``ᴛ`` (their capitals map to ``T``): after case folding, a small
    capital is read as its letter so both cases meet plain ``t``.
    """
    table = {0x0138: "k"}
    for cp in (*range(0x0280, 0x02B0), *range(0x1D00, 0x1D2C), 0xA7AE, 0xA7AF):
        name = unicodedata.name(chr(cp), "")
        letter = name.removeprefix("LATIN LETTER SMALL CAPITAL ")
        if letter != name and len(letter) == 1:
            table[cp] = letter.lower()
    return table


#: Folds after the skeleton: small capitals, and ``i`` -> ``l`` because the
#: table maps ``I`` (and ``1``, ``|``) to ``l`` but leaves ``i``, so without
#: it "VICTORY" and "victory" would differ (handle_key does the same).
#: Greek chi is read as x too: UTS #39 does not list it, and it is a common
#: substitute in evasive text (measured by benchmarks/text_matching.py).
POST_SKELETON_FOLD: Final = {**_small_capitals(), ord("i"): "l", ord("χ"): "x"}
#: Applied before NFKC, which would turn the lunate sigma (it looks like c)
#: into sigma (which the table reads as o).
PRE_NFKC_FOLD: Final = {0x03F2: "c", 0x03F9: "C"}


def _fold_rule(ch: str) -> str:
    """Everything a character becomes in a compact form (possibly nothing).

    The fold is character-wise: skeleton maps code points one by one, NFD only
    reorders marks, and marks are dropped, so folding a text is folding each
    of its characters (after NFKC, which does compose across characters).
    """
    if ord(ch) in _IGNORED:
        return ""
    # Skeleton before case folding (capital look-alikes map to capitals), then
    # again after (the table's prototypes are of either case), as handle_key.
    folded = skeleton(ch.translate(ARABIC_FOLD)).casefold()
    folded = skeleton(folded).casefold().translate(POST_SKELETON_FOLD)
    folded = drop_marks(folded)
    return "".join(c for c in folded if unicodedata.category(c)[0] in "LN")


_FOLD = _LazyTable(_fold_rule)
_LEET_CHARS: Final = frozenset(LEET_DIGITS) | frozenset(LEET_SYMBOLS)


def _prepare(text: str) -> str:
    if len(text) > MAX_TEXT_CHARS:
        raise ContentTooLargeError(f"text over {MAX_TEXT_CHARS} characters")
    return unicodedata.normalize("NFKC", drop_invisible(text).translate(PRE_NFKC_FOLD))


def compact_form(text: str) -> str:
    """Letters and digits of the confusable-folded text, nothing else."""
    return _prepare(text).translate(_FOLD)


def forms(text: str) -> tuple[str, ...]:
    """The plain compact form and, if different, the leet-folded one."""
    prepared = _prepare(text)
    plain = prepared.translate(_FOLD)
    if _LEET_CHARS.isdisjoint(prepared):
        return (plain,)
    leet = leet_fold(prepared).translate(_FOLD)
    return (plain,) if leet == plain else (plain, leet)


__all__ = [
    "ARABIC_FOLD",
    "BLANK_FILLERS",
    "DEFAULT_IGNORABLE",
    "compact_form",
    "drop_invisible",
    "drop_marks",
    "forms",
    "leet_fold",
]

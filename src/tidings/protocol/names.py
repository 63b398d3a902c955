"""What a person or a channel may be called: the one policy (docs/decisions.md, "Names
and titles"). Pure: strings in, a refusal (``HandleError``) or nothing out.

Three checks, on top of the character rules in ``protocol/handles.py``:

1. **Confusable with another name.** Usernames, channel handles and channel titles are
   compared by one key (``name_key``: the UTS #39 skeleton plus handle folds,
   ``protocol/confusables.handle_key``), across kinds: ``a1ice`` cannot join ``alice``,
   ``rnallory`` cannot join ``mallory``, and a channel titled ``Аlice`` (Cyrillic А)
   cannot pose as the account ``alice``. The lookups are the services' (they hold the
   keys); this module says what the key is and how a conflict is worded: by its
   kind only, never naming someone else's account or an unlisted channel.
2. **Official-looking decorations.** A name may not carry a badge people read as the
   platform's (✓ ✔ ☑ ✅ 🔵 and friends) nor words that claim a role: "official",
   "verified" and "tidings" anywhere (``NewsOfficial``), "admin", "support", "staff",
   "moderator" as words (``Badminton`` is fine), each compared by key so homoglyphs
   (``Оfficial`` with a Cyrillic О, ``0fficial``) do not get through.
3. **Invisible tricks in titles.** Bidi controls (a right-to-left override turns
   ``Newsgpj.exe`` into something else on screen) and blank-looking characters (no-break
   and other special spaces, Hangul fillers, the braille blank, zero-width characters)
   are refused. Zero-width joiners stay where emoji and scripts need them: between two
   characters that are neither spaces nor ASCII.

Ordinary words stay allowed ("News", "Daily Post"): the aim is impersonation, not
vocabulary. Reserved names (``RESERVED_NAMES`` in ``protocol/handles.py``) are checked
before these, so their codes are unchanged.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Final, Literal

from tidings.protocol.confusables import handle_key
from tidings.protocol.handles import HandleError

NAME_KEY_MAX: Final = 64
"""Stored keys are cut here (a title's key can be longer than any handle's)."""

NameField = Literal["username", "handle", "title", "display_name"]

OFFICIAL_MARKS: Final = frozenset(
    "\u2713\u2714\u2611\u2705\u221a\u237b"   # ✓ ✔ ☑ ✅ √ ⍻
    "\U0001f5f8\U0001f5f9\u2612"               # 🗸 🗹 ☒
    "\U0001f535\U0001f537\U0001f539\U0001f4a0"  # 🔵 🔷 🔹 💠 (the blue badge)
    "\u24cb\u24e5\U0001f6e1\u2122\u00ae"       # Ⓥ ⓥ 🛡 ™ ®
)
"""Badges read as the platform's verification or trademark marks."""
WORDS_ANYWHERE: Final = ("official", "verified", "tidings")
"""Claims that need no word boundary: ``NewsOfficial`` claims as much as ``News Official``."""
ROLE_WORDS: Final = ("admin", "admins", "administrator", "moderator", "moderators",
                     "support", "staff", "helpdesk")
"""Claims of a role, refused as whole words only (``Badminton`` is fine)."""

BIDI_CONTROLS: Final = frozenset(
    [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)])
BLANK_LOOKING: Final = frozenset(
    [0x00A0, 0x00AD, 0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180E, 0x2028, 0x2029,
     0x202F, 0x205F, 0x2800, 0x3000, 0x3164, 0xFFA0, 0xFEFF, *range(0x2000, 0x200C),
     *range(0x2060, 0x2065), *range(0x1D173, 0x1D17B)])
JOINERS: Final = frozenset({0x200C, 0x200D})
_WORDS: Final = re.compile(r"[^\W_]+")


def name_key(text: str) -> str:
    """The comparison key stored for a username, handle or title."""
    return handle_key(text)[:NAME_KEY_MAX]


@functools.cache
def _anywhere_keys() -> tuple[str, ...]:
    return tuple(handle_key(w) for w in WORDS_ANYWHERE)


@functools.cache
def _role_keys() -> frozenset[str]:
    return frozenset(handle_key(w) for w in ROLE_WORDS)


def _words(text: str) -> list[str]:
    """Words as a reader sees them: NFKC, split at spaces, punctuation and ``_``, and
    between a lower-case letter and a capital (``BobSupport``)."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", unicodedata.normalize("NFKC", text))
    return _WORDS.findall(spaced)


def decoration(text: str) -> str | None:
    """What in ``text`` looks official (a badge or a claiming word), or None."""
    for ch in text:
        if ch in OFFICIAL_MARKS:
            return f"the badge {ch!r} (U+{ord(ch):04X})"
    key = handle_key(text)
    for word, word_key in zip(WORDS_ANYWHERE, _anywhere_keys(), strict=True):
        if word_key in key:
            return f"the word {word!r}"
    roles = _role_keys()
    for word in _words(text):
        if handle_key(word) in roles:
            return f"the word {word!r}"
    return None


def invisible(text: str) -> str | None:
    """A bidi control or blank-looking character in ``text``, described, or None."""
    for index, ch in enumerate(text):
        cp = ord(ch)
        if cp in BIDI_CONTROLS:
            return f"the bidi control U+{cp:04X} at position {index}"
        if cp in JOINERS:
            before = text[index - 1] if index else " "
            after = text[index + 1] if index + 1 < len(text) else " "
            if not (_joinable(before) and _joinable(after)):
                return f"the zero-width joiner U+{cp:04X} at position {index}"
            continue
        if cp in BLANK_LOOKING or (unicodedata.category(ch) == "Zs" and ch != " ") or (
                unicodedata.category(ch) == "Cf" and not _tag(text, index)):
            return f"the blank-looking character U+{cp:04X} at position {index}"
    return None


def _joinable(ch: str) -> bool:
    return not ch.isspace() and not ch.isascii() and ord(ch) not in BLANK_LOOKING


def _tag(text: str, index: int) -> bool:
    """Tag characters after a black flag spell subdivision flags (🏴 + tags)."""
    if not 0xE0020 <= ord(text[index]) <= 0xE007F:
        return False
    start = index
    while start > 0 and 0xE0020 <= ord(text[start - 1]) <= 0xE007F:
        start -= 1
    return start > 0 and text[start - 1] == "\U0001f3f4"


def check_decorations(text: str, field: NameField) -> None:
    """Refuse an official-looking name (``official_decoration``) and, for free-text
    names (titles, display names), invisible tricks (``invisible_character``)."""
    if field in ("title", "display_name"):
        trick = invisible(text)
        if trick is not None:
            raise HandleError("invisible_character",
                              f"a {field.replace('_', ' ')} may not contain {trick}")
    found = decoration(text)
    if found is not None:
        raise HandleError("official_decoration",
                          f"a {field.replace('_', ' ')} may not look official: it has "
                          f"{found}, which only the platform's own accounts use")


ConflictKind = Literal["account", "channel"]


def conflict_message(field: NameField, kind: ConflictKind) -> str:
    """The refusal for a name confusable with an existing one, naming only its kind."""
    other = "an existing account's username" if kind == "account" else \
        "an existing channel's handle or title"
    return (f"this {field.replace('_', ' ')} looks like {other} (the same letters up to "
            "look-alike characters); choose a name that cannot be mistaken for it")

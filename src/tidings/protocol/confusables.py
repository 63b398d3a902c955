"""Confusable detection for names people read: UTS #39 skeletons and a handle key.

Impersonation on a public-channel platform rarely needs a stolen account: a channel
called ``pаypаl`` (Cyrillic ``а``) or ``tidings_suppοrt`` (Greek omicron) is enough.
UTS #39 section 4 ("Confusable Detection") defines the *skeleton*: two strings are
confusable when their skeletons are equal. We implement it exactly:

    skeleton(X) = NFD( map each code point of NFD(X) through confusables.txt )

using the MA table shipped in ``data/confusables.txt`` (generated from Unicode's
``confusables.txt`` by ``tools/gen_confusables.py``; the file's header names the Unicode
version). The table is parsed lazily, once per process, from package data: no I/O
beyond reading our own shipped resource, so this module stays pure.

Skeletons are for comparison only, never for display or storage (UTS #39 section 4
says as much): ``skeleton("m") == "rn"`` and ``skeleton("0") == "O"``.

``handle_key`` is stricter than UTS #39 and is ours, not Unicode's; see its docstring.
"""

from __future__ import annotations

import functools
import unicodedata
from importlib import resources
from types import MappingProxyType
from typing import Final

DATA_PACKAGE: Final = "tidings.protocol"
DATA_FILE: Final = "data/confusables.txt"

# The Unicode 15.0 table is not closed under NFD for a handful of code points (13,
# e.g. U+01C4 DZ WITH CARON maps to "DZ" + COMBINING CARON, and the caron itself is a
# source mapping to COMBINING BREVE), so one pass of the section 4 algorithm is not
# always idempotent. We repeat it until the output is stable; one extra round
# suffices for every table entry (checked by tests), this bound only guards the loop.
MAX_SKELETON_ROUNDS: Final = 4

# Extra folds applied by handle_key after the UTS #39 skeleton and case folding.
# UTS #39 already maps 1 -> l, I -> l and 0 -> O (so 0 ~ o after case folding);
# these add the classic handle tricks the table does not cover. Collapsing i into l
# means "mail" ~ "mall": for lookalike *detection* a false alarm costs a user a
# second choice of name, a miss costs users their money to an impersonator.
HANDLE_FOLDS: Final = MappingProxyType(
    {
        "i": "l",
        "5": "s",
        "3": "e",
        "4": "a",
    }
)


@functools.cache
def _table() -> dict[int, str]:
    """Parse the shipped MA table into a str.translate mapping (once per process)."""
    text = resources.files(DATA_PACKAGE).joinpath(DATA_FILE).read_text(encoding="utf-8")
    table: dict[int, str] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        source, target = line.split("\t")
        table[int(source, 16)] = "".join(chr(int(cp, 16)) for cp in target.split())
    return table


def table_version() -> str:
    """The Unicode version line from the shipped table's header, for diagnostics."""
    text = resources.files(DATA_PACKAGE).joinpath(DATA_FILE).read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.startswith("# Upstream:"):
            return line.removeprefix("# Upstream:").strip()
    return "unknown"


def _skeleton_once(text: str) -> str:
    mapped = unicodedata.normalize("NFD", text).translate(_table())
    return unicodedata.normalize("NFD", mapped)


def skeleton(text: str) -> str:
    """UTS #39 section 4 skeleton: NFD, map through the MA table, NFD again.

    Applied to a fixed point (see MAX_SKELETON_ROUNDS) so skeleton is idempotent;
    for all but 13 code points this is exactly one round of the spec's algorithm.
    """
    current = _skeleton_once(text)
    for _ in range(MAX_SKELETON_ROUNDS):
        following = _skeleton_once(current)
        if following == current:
            break
        current = following
    return current


def is_confusable(a: str, b: str) -> bool:
    """True when a and b are confusable per UTS #39 section 4 (equal skeletons)."""
    return skeleton(a) == skeleton(b)


def _drop_invisible_and_separators(text: str) -> str:
    # Cf covers ZWSP, ZWJ, ZWNJ, soft hyphen, BOM and bidi controls: invisible, so
    # they must not make two names differ. Punctuation (P*) and separators (Z*)
    # cover "_", ".", "-" and spaces, so news_daily ~ newsdaily ~ "News Daily".
    return "".join(ch for ch in text if not _is_dropped(unicodedata.category(ch)))


def _is_dropped(category: str) -> bool:
    return category in ("Cf", "Cc") or category[0] in "PZ"


def handle_key(text: str) -> str:
    """A comparison key for lookalike channel handles, usernames and titles.

    Two names with equal keys look alike to a reader and one should not be allowed
    next to the other (or next to a reserved name). Steps, in order:

    1. UTS #39 skeleton of the NFKC text as written (so capitals meet capitals);
       NFKC and case fold (NFKC_Casefold in spirit, as UTS #46 does for domain
       labels) so fullwidth, mathematical and ligature forms fold to plain letters;
       drop format characters (Cf: zero-width joiners and friends);
    2. UTS #39 skeleton, then case fold again (the table maps to prototypes of
       either case, e.g. ``0 -> O``), then skeleton again so the result is stable;
    3. fold HANDLE_FOLDS (i/1/l collapse to l; 5->s, 3->e, 4->a), beyond UTS #39;
    4. drop punctuation, spaces and controls, so ``news_daily`` ~ ``newsdaily``.

    The whole pipeline is repeated until stable (the table's targets may contain
    compatibility characters such as subscript digits), so the key is idempotent.

    Like a skeleton, the key is for comparison only; never show or store it as a name.
    """
    current = _key_round(text)
    for _ in range(MAX_SKELETON_ROUNDS):
        following = _key_round(current)
        if following == current:
            break
        current = following
    return current


def _key_round(text: str) -> str:
    # Skeleton the text as written first: an uppercase lookalike (Cyrillic Т, U+0422)
    # has a Latin capital as prototype, but case folding first would turn it into a
    # lowercase letter (т, U+0442) whose prototype is a small capital (ᴛ), not t, so
    # "Тidings" would not look like "Tidings" (found by tests/server/test_hostile_names).
    text = skeleton(_drop_invisible_and_separators(unicodedata.normalize("NFKC", text)))
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    folded = skeleton(skeleton(_drop_invisible_and_separators(folded)).casefold())
    folded = "".join(HANDLE_FOLDS.get(ch, ch) for ch in folded)
    return _drop_invisible_and_separators(folded)

"""Normalisation of text and URLs before hashing.

Exact hashes only catch exact copies, so everything that does not change what
a reader sees or where a link leads is folded away first: otherwise a single
zero-width space or a ``?utm_source=`` defeats a bank. Each step below names
the evasion it closes.
"""

import re
import unicodedata

from tidings.moderation.errors import ContentTooLargeError
from tidings.moderation.limits import MAX_TEXT_CHARS
from tidings.moderation.textforms import ARABIC_FOLD, drop_invisible, drop_marks

_WHITESPACE = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Fold text to the form the exact and near-duplicate text hashes read.

    Order matters: NFKC first (full-width, ligatures, compatibility digits),
    then casefold, then drop format characters and every other invisible
    code point (zero-width space/joiners, bidi controls, Hangul and braille
    fillers: used to break hashes), then NFD and drop non-spacing and
    enclosing marks (Latin diacritics, Arabic harakat, hamza above/below,
    U+20E3 keycap), then fold Arabic letter variants and tatweel, then
    collapse whitespace. Homoglyphs, leetspeak and spacing tricks are folded
    by the compact forms of ``textforms``, not here.
    """
    if len(text) > MAX_TEXT_CHARS:
        raise ContentTooLargeError(f"text over {MAX_TEXT_CHARS} characters")
    folded = drop_invisible(unicodedata.normalize("NFKC", text).casefold())
    stripped = drop_marks(folded).translate(ARABIC_FOLD)
    return _WHITESPACE.sub(" ", stripped).strip()


# --- URLs --------------------------------------------------------------------
# URL normalisation lives in ``urls`` (WHATWG-style parsing); these names stay
# importable from here for the indexes, signal types and services that use them.
from tidings.moderation.urls import (  # noqa: E402
    DOMAIN_PREFIX,
    TRACKING_PARAM_PREFIXES,
    TRACKING_PARAMS,
    extract_urls,
    host_of,
    normalize_domain_entry,
    normalize_host,
    normalize_url,
    parent_domains,
)

__all__ = [
    "DOMAIN_PREFIX",
    "TRACKING_PARAMS",
    "TRACKING_PARAM_PREFIXES",
    "extract_urls",
    "host_of",
    "normalize_domain_entry",
    "normalize_host",
    "normalize_text",
    "normalize_url",
    "parent_domains",
]

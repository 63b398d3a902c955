"""Text signals that survive evasion: folded exact forms, partial quotes, slogans.

Query side and bank side differ here, unlike for hashes of bytes: a post is
matched with everything the matcher can compute from its full text, while a
bank keeps a compact, shareable value. For each text:

==============  ======================================  ==============================
signal type     banked value                            query value
==============  ======================================  ==============================
``text_exact``  SHA-256 of each compact form            legacy hash + same SHA-256s
``text_quote``  MinHash of each compact form's          ``q:`` + each compact form
                12-character shingles (>= 60 chars)     (``indexes.quote``)
``text_slogan`` normalised text (opt-in, >= 12 chars)   ``q:`` + each compact form
==============  ======================================  ==============================

The compact forms are ``textforms.forms``: plain (confusables, invisibles,
marks, spaces, punctuation and emoji folded away) and, when different, the
leet-folded one. ``text_near`` (Jaccard over the legacy normalisation) is
kept as it was, so entries banked before these types keep matching.
"""

from __future__ import annotations

import re
import typing as t

from threatexchange.content_type.content_base import ContentType
from threatexchange.content_type.text import TextContent as PytxTextContent
from threatexchange.signal_type import signal_base
from threatexchange.signal_type.index import SignalTypeIndex

from tidings.moderation import minhash
from tidings.moderation.content import Signal, TextContent
from tidings.moderation.errors import InvalidSignalError
from tidings.moderation.indexes.quote import QUERY_PREFIX, QuoteIndex, quote_signature
from tidings.moderation.indexes.slogan import SloganIndex
from tidings.moderation.limits import (
    TEXT_QUOTE_DEFAULT_THRESHOLD,
    TEXT_QUOTE_MAX_THRESHOLD,
    TEXT_QUOTE_MIN_CHARS,
    TEXT_QUOTE_SHINGLE,
    TEXT_SLOGAN_MAX_CHARS,
    TEXT_SLOGAN_MIN_CHARS,
)
from tidings.moderation.normalize import normalize_text
from tidings.moderation.signal_types import (
    FOLDED_EXACT_MIN_CHARS,
    Checked,
    HasThreshold,
    QueryHasher,
    TextExactSignal,
    TextNearSignal,
    folded_exact_hashes,
    text_forms,
)
from tidings.moderation.textforms import compact_form, forms

_SIG = re.compile(rf"[0-9a-f]{{{minhash.SIGNATURE_HEX_CHARS}}}")


class TextQuoteSignal(signal_base.SignalType, signal_base.TextHasher, HasThreshold,
                      QueryHasher):
    """Containment of a banked text in a post (partial quotes); see ``indexes.quote``.

    Distance is 64 minus the banked shingles found in the post.
    """

    @classmethod
    def query_signals(cls, content: Checked) -> list[Signal]:
        """``q:`` + each compact form long enough to hold a shingle."""
        if not isinstance(content, TextContent):
            return []
        return [Signal(cls.get_name(), QUERY_PREFIX + f) for f in text_forms(content.text)
                if len(f) >= TEXT_QUOTE_SHINGLE]

    @classmethod
    def get_name(cls) -> str:
        return "text_quote"

    @classmethod
    def get_content_types(cls) -> list[type[ContentType]]:
        return [PytxTextContent]

    @classmethod
    def get_index_cls(cls) -> type[SignalTypeIndex[t.Any]]:
        return QuoteIndex

    @classmethod
    def validate_signal_str(cls, signal_str: str) -> str:
        """A signature; a query value (``q:`` + compact text) becomes one."""
        value = signal_str.strip()
        if value.startswith(QUERY_PREFIX):
            compact = compact_form(value[len(QUERY_PREFIX) :])
            if len(compact) < TEXT_QUOTE_MIN_CHARS:
                raise InvalidSignalError(f"text_quote needs {TEXT_QUOTE_MIN_CHARS} characters")
            return quote_signature(compact)
        value = value.lower()
        if not _SIG.fullmatch(value):
            raise InvalidSignalError(f"text_quote must be {minhash.SIGNATURE_HEX_CHARS} hex chars")
        return value

    @classmethod
    def hash_from_str(cls, text: str) -> str:
        """Signature of the plain compact form; empty when too short to quote."""
        compact = compact_form(text)
        if len(compact) < TEXT_QUOTE_MIN_CHARS:
            return ""
        return quote_signature(compact)

    @classmethod
    def compare_hash(cls, hash1: str, hash2: str) -> signal_base.SignalComparisonResult:
        dist = minhash.distance(minhash.from_hex(hash1), minhash.from_hex(hash2))
        return signal_base.SignalComparisonResult.from_simple_dist(
            dist, TEXT_QUOTE_DEFAULT_THRESHOLD
        )

    @classmethod
    def default_threshold(cls) -> int:
        return TEXT_QUOTE_DEFAULT_THRESHOLD

    @classmethod
    def max_threshold(cls) -> int:
        return TEXT_QUOTE_MAX_THRESHOLD

    @staticmethod
    def get_examples() -> list[str]:
        return [
            TextQuoteSignal.hash_from_str(
                "An example of a banned manifesto paragraph, long enough to be quoted in part."
            )
        ]


class TextSloganSignal(signal_base.SignalType, signal_base.TextHasher, HasThreshold,
                       QueryHasher):
    """A short banked text found inside a longer post (entries opt in)."""

    @classmethod
    def query_signals(cls, content: Checked) -> list[Signal]:
        """``q:`` + each compact form long enough to hold a slogan."""
        if not isinstance(content, TextContent):
            return []
        return [Signal(cls.get_name(), QUERY_PREFIX + f) for f in text_forms(content.text)
                if len(f) >= TEXT_SLOGAN_MIN_CHARS]

    @classmethod
    def get_name(cls) -> str:
        return "text_slogan"

    @classmethod
    def get_content_types(cls) -> list[type[ContentType]]:
        return [PytxTextContent]

    @classmethod
    def get_index_cls(cls) -> type[SignalTypeIndex[t.Any]]:
        return SloganIndex

    @classmethod
    def validate_signal_str(cls, signal_str: str) -> str:
        """The normalised slogan; refused when its compact form is too short."""
        if signal_str.startswith(QUERY_PREFIX):
            raise InvalidSignalError("a post is never banked as a slogan; bank it with --slogan")
        value = normalize_text(signal_str)
        if len(value) > TEXT_SLOGAN_MAX_CHARS:
            raise InvalidSignalError(f"a slogan is at most {TEXT_SLOGAN_MAX_CHARS} characters")
        if len(compact_form(value)) < TEXT_SLOGAN_MIN_CHARS:
            raise InvalidSignalError(
                f"a slogan needs {TEXT_SLOGAN_MIN_CHARS} letters or digits to match inside posts"
            )
        return value

    @classmethod
    def hash_from_str(cls, text: str) -> str:
        return cls.validate_signal_str(text)

    @classmethod
    def compare_hash(cls, hash1: str, hash2: str) -> signal_base.SignalComparisonResult:
        hits = SloganIndex.build([(hash1, 0)]).search(hash2, 0)
        return signal_base.SignalComparisonResult.from_bool_only(bool(hits))

    @staticmethod
    def get_examples() -> list[str]:
        return ["an example banned slogan"]


def query_text_signals(text: str) -> list[Signal]:
    """Every text signal of a post, as ``manifest.signals_for`` dispatches them (URLs
    in the text are the ``url`` type's)."""
    content = TextContent(text)
    return [s for cls in (TextExactSignal, TextNearSignal, TextQuoteSignal, TextSloganSignal)
            for s in cls.query_signals(content)]


def bank_text_signals(text: str, slogan: bool = False) -> list[tuple[str, str]]:
    """(signal type, banked value) pairs for a text staff bank.

    ``slogan`` opts the text in to matching inside longer posts; it must be
    at least ``TEXT_SLOGAN_MIN_CHARS`` letters or digits (raises otherwise).
    """
    pairs = [("text_exact", h) for h in folded_exact_hashes(text)]
    if not pairs:
        pairs.append(("text_exact", TextExactSignal.hash_from_str(text)))
    near = TextNearSignal.hash_from_str(text)
    if near:
        pairs.append(("text_near", near))
    pairs.extend(
        ("text_quote", quote_signature(f))
        for f in forms(text)
        if len(f) >= TEXT_QUOTE_MIN_CHARS
    )
    if slogan:
        pairs.append(("text_slogan", TextSloganSignal.validate_signal_str(text)))
    return pairs


def bankable(signals: t.Iterable[Signal]) -> list[tuple[str, str]]:
    """Bank values for a removed post's query signals (auto-banking).

    Quote queries become signatures (when long enough); slogan queries are
    dropped: a whole post never becomes a slogan without a person choosing.
    """
    out: dict[tuple[str, str], None] = {}
    for s in signals:
        if s.signal_type == "text_slogan":
            continue
        if s.signal_type == "text_quote":
            if not s.value.startswith(QUERY_PREFIX):
                out[(s.signal_type, s.value)] = None
            elif len(s.value) - len(QUERY_PREFIX) >= TEXT_QUOTE_MIN_CHARS:
                out[(s.signal_type, TextQuoteSignal.validate_signal_str(s.value))] = None
            continue
        out[(s.signal_type, s.value)] = None
    return list(out)


__all__ = [
    "FOLDED_EXACT_MIN_CHARS",
    "TextQuoteSignal",
    "TextSloganSignal",
    "bank_text_signals",
    "bankable",
    "folded_exact_hashes",
    "query_text_signals",
]

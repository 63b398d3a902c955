"""Signal types, as python-threatexchange plugins.

Where pytx already has the algorithm we subclass it (PDQ, MD5, SHA-256, URL)
so pytx's exchanges, CLI and examples keep working with our types; we only
rename (pytx's MD5 is ``video_md5``, ours applies to any media), point
``get_index_cls`` at our id-based indexes, and add normalisation. Text types
are new. Every class is a plugin: small classmethods, examples included.
"""

import functools
import hashlib
import io
import re
import typing as t
import warnings

import numpy as np
import pdqhash
from PIL import Image
from threatexchange.content_type.content_base import ContentType
from threatexchange.content_type.file import FileContent
from threatexchange.content_type.photo import PhotoContent
from threatexchange.content_type.text import TextContent as PytxTextContent
from threatexchange.content_type.url import URLContent
from threatexchange.content_type.video import VideoContent
from threatexchange.signal_type import signal_base
from threatexchange.signal_type.index import SignalTypeIndex
from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.signal_type.pdq.signal import PdqSignal
from threatexchange.signal_type.sha256 import VideoSHA256Signal
from threatexchange.signal_type.url import URLSignal

from tidings.moderation import minhash
from tidings.moderation.content import MediaContent, Signal, TextContent, UrlContent
from tidings.moderation.errors import InvalidSignalError, UndecodableMediaError
from tidings.moderation.indexes import ExactIndex, MinHashLshIndex, PdqMihIndex, UrlIndex
from tidings.moderation.limits import (
    MAX_IMAGE_PIXELS,
    PDQ_AUGMENT_CROP_FRACTIONS,
    PDQ_DEFAULT_THRESHOLD,
    PDQ_MAX_THRESHOLD,
    PDQ_MIN_QUALITY,
    TEXT_NEAR_DEFAULT_THRESHOLD,
    TEXT_NEAR_MIN_CHARS,
    TEXT_NEAR_PERMUTATIONS,
)
from tidings.moderation.normalize import (
    DOMAIN_PREFIX,
    extract_urls,
    normalize_domain_entry,
    normalize_text,
    normalize_url,
)
from tidings.moderation.pdq_variants import bank_hashes, flattened
from tidings.moderation.textforms import forms

_HEX64 = re.compile(r"[0-9a-f]{64}")
#: Compact forms shorter than this get no folded exact hash: "no", "ok" or an
#: emoji-only post (compact form empty) would equal too many innocent posts.
#: The legacy exact hash still covers them.
FOLDED_EXACT_MIN_CHARS = 4

Checked = TextContent | MediaContent | UrlContent
"""What a check hashes (``HashedMedia`` is hashed already)."""


class HasThreshold:
    """Capability mixin: a distance-based type's default and maximum threshold.

    Exact types keep 0/0. The matcher clamps bank overrides to the maximum so
    a typo in a bank setting cannot make every upload match.
    """

    @classmethod
    def default_threshold(cls) -> int:
        return 0

    @classmethod
    def max_threshold(cls) -> int:
        return 0


class QueryHasher:
    """Capability mixin: the signals this type takes from one piece of content when it
    is checked, for the content types of ``query_content_types``.

    pytx's hashers (``TextHasher``, ``BytesHasher``) give one hash a content; a check
    wants what matches best, which may be several (a text's folded forms, a video's
    frames) or none (a flat photo). ``manifest.signals_for`` dispatches on this and the
    content's pytx type, never on a type's name.
    """

    @classmethod
    def query_content_types(cls) -> list[type[ContentType]]:
        """Defaults to ``get_content_types`` (pytx's ``SignalType``)."""
        if issubclass(cls, signal_base.SignalType):
            return cls.get_content_types()
        return []

    @classmethod
    def query_signals(cls, content: Checked) -> list[Signal]:
        raise NotImplementedError


@functools.lru_cache(maxsize=16)
def text_forms(text: str) -> tuple[str, ...]:
    """``textforms.forms``, kept for the few texts of the current check: the text types
    each ask for them."""
    return forms(text)


def folded_exact_hashes(text: str, compact: tuple[str, ...] | None = None) -> list[str]:
    """SHA-256 of each compact form long enough to be specific."""
    return [
        hashlib.sha256(f.encode()).hexdigest()
        for f in (text_forms(text) if compact is None else compact)
        if len(f) >= FOLDED_EXACT_MIN_CHARS
    ]


# --- PDQ ---------------------------------------------------------------------


def decode_image(data: bytes) -> Image.Image:
    """Decode with Pillow, refusing decompression bombs, to RGB (transparency
    flattened on white)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.width * img.height > MAX_IMAGE_PIXELS:
                raise UndecodableMediaError("image too large")
            img.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning) as exc:
        raise UndecodableMediaError("cannot decode image") from exc
    # Transparency as a viewer on a white page sees it (the PDQ stored at upload is
    # taken the same way), not the colour under transparent pixels.
    return flattened(img)[0][1]


def pdq_of_image(img: Image.Image) -> tuple[str, int]:
    """(64-hex PDQ hash, quality 0-100) of a decoded RGB image."""
    bits, quality = pdqhash.compute(np.asarray(img.convert("RGB")))
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex(), int(quality)


def pdq_augmented(img: Image.Image) -> list[tuple[str, int]]:
    """Bank-side hashes, banked beside the picture's own PDQ when we hold its pixels.

    PDQ's DCT bits move under crops (a 2.5%-per-side crop is ~40 bits away on
    our test set), so a bank that wants crop resistance stores a few cropped
    hashes too: centre crops, plus the bank-side variants of ``pdq_variants``
    (working-size copies, trimmed content, one-side crops). Each extra hash is one
    more chance of a false match; benchmarks/evasion_eval.py measures the cost.
    """
    out = []
    for frac in PDQ_AUGMENT_CROP_FRACTIONS:
        dx, dy = round(img.width * frac), round(img.height * frac)
        out.append(pdq_of_image(img.crop((dx, dy, img.width - dx, img.height - dy))))
    out += [(v.value, v.quality) for v in bank_hashes(img)]
    return list(dict.fromkeys(out))


class PdqSignalType(PdqSignal, HasThreshold, QueryHasher):
    """pytx's PDQ with our multi-index-hashing index and hashing that reports quality."""

    @classmethod
    def query_signals(cls, content: Checked) -> list[Signal]:
        """Photos that fail to decode, or decode to a flat image (PDQ quality below
        ``PDQ_MIN_QUALITY``), get no PDQ: a low-quality PDQ matches unrelated flat
        images (the byte hashes still apply)."""
        if not isinstance(content, MediaContent):
            return []
        try:
            value, quality = cls.hash_with_quality(content.data)
        except UndecodableMediaError:
            return []
        return [Signal(cls.get_name(), value, quality)] if quality >= PDQ_MIN_QUALITY else []

    @classmethod
    def get_name(cls) -> str:
        return "pdq"

    @classmethod
    def get_index_cls(cls) -> type[PdqMihIndex]:  # type: ignore[override]
        return PdqMihIndex

    @classmethod
    def validate_signal_str(cls, signal_str: str) -> str:
        value = signal_str.strip().lower()
        if not _HEX64.fullmatch(value):
            raise InvalidSignalError("PDQ hash must be 64 hex characters")
        return value

    @classmethod
    def hash_with_quality(cls, data: bytes) -> tuple[str, int]:
        return pdq_of_image(decode_image(data))

    @classmethod
    def hash_from_bytes(cls, bytes_: bytes) -> str:
        value, quality = cls.hash_with_quality(bytes_)
        return value if quality >= cls.QUALITY_THRESHOLD else ""

    @classmethod
    def default_threshold(cls) -> int:
        return PDQ_DEFAULT_THRESHOLD

    @classmethod
    def max_threshold(cls) -> int:
        return PDQ_MAX_THRESHOLD


# --- byte hashes -------------------------------------------------------------


class Md5SignalType(VideoMD5Signal, HasThreshold, QueryHasher):
    """MD5 of any media bytes: what most shared hash lists still carry."""

    @classmethod
    def query_signals(cls, content: Checked) -> list[Signal]:
        if not isinstance(content, MediaContent):
            return []
        return [Signal(cls.get_name(), cls.hash_from_bytes(content.data))]

    @classmethod
    def get_name(cls) -> str:
        return "md5"

    @classmethod
    def get_content_types(cls) -> list[type[ContentType]]:
        return [PhotoContent, VideoContent, FileContent]

    @classmethod
    def get_index_cls(cls) -> type[ExactIndex]:  # type: ignore[override]
        return ExactIndex

    @classmethod
    def validate_signal_str(cls, signal_str: str) -> str:
        try:
            return str(super().validate_signal_str(signal_str))
        except ValueError as exc:
            raise InvalidSignalError(str(exc)) from exc


class Sha256SignalType(VideoSHA256Signal, HasThreshold, QueryHasher):
    """SHA-256 of any media bytes (collision-resistant, unlike MD5)."""

    @classmethod
    def query_signals(cls, content: Checked) -> list[Signal]:
        if not isinstance(content, MediaContent):
            return []
        return [Signal(cls.get_name(), cls.hash_from_bytes(content.data))]

    @classmethod
    def get_name(cls) -> str:
        return "sha256"

    @classmethod
    def get_content_types(cls) -> list[type[ContentType]]:
        return [PhotoContent, VideoContent, FileContent]

    @classmethod
    def get_index_cls(cls) -> type[ExactIndex]:  # type: ignore[override]
        return ExactIndex

    @classmethod
    def validate_signal_str(cls, signal_str: str) -> str:
        try:
            return str(super().validate_signal_str(signal_str))
        except ValueError as exc:
            raise InvalidSignalError(str(exc)) from exc


# --- URLs --------------------------------------------------------------------


class UrlSignalType(URLSignal, HasThreshold, QueryHasher):
    """Normalised URL, or ``domain:<host>`` matching a host and its subdomains."""

    @classmethod
    def query_content_types(cls) -> list[type[ContentType]]:
        """Links posted on their own and links inside a post's text."""
        return [URLContent, PytxTextContent]

    @classmethod
    def query_signals(cls, content: Checked) -> list[Signal]:
        if isinstance(content, TextContent):
            return [Signal(cls.get_name(), u) for u in extract_urls(content.text)]
        if not isinstance(content, UrlContent):
            return []
        if content.url.strip().startswith(DOMAIN_PREFIX):
            return [Signal(cls.get_name(), cls.validate_signal_str(content.url))]
        return [Signal(cls.get_name(), normalize_url(content.url))]

    @classmethod
    def get_name(cls) -> str:
        return "url"

    @classmethod
    def get_index_cls(cls) -> type[UrlIndex]:  # type: ignore[override]
        return UrlIndex

    @classmethod
    def validate_signal_str(cls, signal_str: str) -> str:
        value = signal_str.strip()
        if value.startswith(DOMAIN_PREFIX):
            return normalize_domain_entry(value)
        return normalize_url(value)

    @classmethod
    def matches_str(cls, signal: str, haystack: str) -> signal_base.SignalComparisonResult:
        hits = UrlIndex.build([(cls.validate_signal_str(signal), 0)]).search(
            normalize_url(haystack), 0
        )
        return signal_base.SignalComparisonResult.from_bool_only(bool(hits))

    @staticmethod
    def get_examples() -> list[str]:
        return [
            "https://example.com/banned/video",
            "https://xn--e1afmkfd.xn--p1ai/a?id=7",
            "domain:example.org",
        ]


# --- text --------------------------------------------------------------------


class TextExactSignal(signal_base.SimpleSignalType, signal_base.TextHasher, HasThreshold,
                      QueryHasher):
    """SHA-256 of normalised text (see ``normalize.normalize_text``)."""

    @classmethod
    def query_signals(cls, content: Checked) -> list[Signal]:
        """The legacy hash, then the hash of each compact form that differs from it."""
        if not isinstance(content, TextContent):
            return []
        legacy = cls.hash_from_str(content.text)
        return [Signal(cls.get_name(), legacy)] + [
            Signal(cls.get_name(), h) for h in folded_exact_hashes(content.text)
            if h != legacy]

    @classmethod
    def get_name(cls) -> str:
        return "text_exact"

    @classmethod
    def get_content_types(cls) -> list[type[ContentType]]:
        return [PytxTextContent]

    @classmethod
    def get_index_cls(cls) -> type[SignalTypeIndex[t.Any]]:
        return ExactIndex

    @classmethod
    def validate_signal_str(cls, signal_str: str) -> str:
        value = signal_str.strip().lower()
        if not _HEX64.fullmatch(value):
            raise InvalidSignalError("text_exact must be a 64-hex SHA-256")
        return value

    @classmethod
    def hash_from_str(cls, text: str) -> str:
        return hashlib.sha256(normalize_text(text).encode()).hexdigest()

    @staticmethod
    def get_examples() -> list[str]:
        return [TextExactSignal.hash_from_str("An example of banned text, for demos.")]


class TextNearSignal(signal_base.SignalType, signal_base.TextHasher, HasThreshold,
                     QueryHasher):
    """MinHash of normalised text's 5-character shingles (near duplicates).

    Distance is the count of differing signature slots (0-64); see
    ``minhash`` for why MinHash.
    """

    @classmethod
    def query_signals(cls, content: Checked) -> list[Signal]:
        near = cls.hash_from_str(content.text) if isinstance(content, TextContent) else ""
        return [Signal(cls.get_name(), near)] if near else []

    @classmethod
    def get_name(cls) -> str:
        return "text_near"

    @classmethod
    def get_content_types(cls) -> list[type[ContentType]]:
        return [PytxTextContent]

    @classmethod
    def get_index_cls(cls) -> type[SignalTypeIndex[t.Any]]:
        return MinHashLshIndex

    @classmethod
    def validate_signal_str(cls, signal_str: str) -> str:
        value = signal_str.strip().lower()
        if not re.fullmatch(rf"[0-9a-f]{{{minhash.SIGNATURE_HEX_CHARS}}}", value):
            raise InvalidSignalError(f"text_near must be {minhash.SIGNATURE_HEX_CHARS} hex chars")
        return value

    @classmethod
    def hash_from_str(cls, text: str) -> str:
        """Empty (no signal) when the normalised text is too short to judge."""
        normalized = normalize_text(text)
        if len(normalized) < TEXT_NEAR_MIN_CHARS:
            return ""
        return minhash.to_hex(minhash.signature(normalized))

    @classmethod
    def compare_hash(cls, hash1: str, hash2: str) -> signal_base.SignalComparisonResult:
        dist = minhash.distance(minhash.from_hex(hash1), minhash.from_hex(hash2))
        return signal_base.SignalComparisonResult.from_simple_dist(
            dist, TEXT_NEAR_DEFAULT_THRESHOLD
        )

    @classmethod
    def default_threshold(cls) -> int:
        return TEXT_NEAR_DEFAULT_THRESHOLD

    @classmethod
    def max_threshold(cls) -> int:
        return TEXT_NEAR_PERMUTATIONS // 2

    @staticmethod
    def get_examples() -> list[str]:
        return [
            TextNearSignal.hash_from_str(
                "An example of a banned manifesto paragraph, long enough to shingle."
            )
        ]


__all__ = [
    "FOLDED_EXACT_MIN_CHARS",
    "Checked",
    "HasThreshold",
    "Md5SignalType",
    "PdqSignalType",
    "QueryHasher",
    "Sha256SignalType",
    "TextExactSignal",
    "TextNearSignal",
    "UrlSignalType",
    "decode_image",
    "folded_exact_hashes",
    "pdq_augmented",
    "pdq_of_image",
    "text_forms",
]

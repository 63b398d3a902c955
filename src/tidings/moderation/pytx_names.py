"""pytx's signal-type names and classes, and how they map onto Tidings' own.

python-threatexchange (and HMA, built on it) names its types after what they hash:
``pdq``, ``video_md5``, ``video_sha256``, ``url``, ``raw_text`` (``get_name()`` of
``PdqSignal``, ``VideoMD5Signal``, ``VideoSHA256Signal``, ``URLSignal``,
``RawTextSignal``). Tidings hashes the bytes of *any* media with ``md5``/``sha256``, so
its names differ there, and it keeps which kind of media a byte hash came from
(``content_type``: ``photo``, ``video``, ``file`` or unknown) beside the entry.

Reading accepts both vocabularies (they do not overlap). Writing pytx names is a
choice (``--pytx-names``) with one rule that matters to partners: pytx has **no** photo
MD5/SHA-256 type, so a byte hash is written as ``video_md5``/``video_sha256`` only when
Tidings knows it came from a video (hashed from one here, or received as a video hash);
photo, other-file and unknown-media byte hashes are left out and counted, never relabelled
as video. Text hashes (``text_exact``, ``text_near``) have no pytx type either: pytx's
``raw_text`` carries the text itself, which Tidings does not keep.

Exchanges get pytx's *own* classes (:data:`PYTX_SIGNAL_TYPES`), not subclasses:
NCMEC's conversion tests ``VideoMD5Signal in signal_types`` by identity, and
ThreatExchange's reads each class's ``INDICATOR_TYPE``. The one exception is
``vpdq``: pytx's ``VPDQSignal`` lives in its vpdq extension, which needs the native
``vpdq`` package (a C++ build) just to import, so exchanges get Tidings' own class of
the same name and the same format (a JSON list of ``"pdq_hex,quality,timestamp"``);
no exchange converts vPDQ by class identity or indicator type.

Tidings' derived forms (``text_exact``, ``text_near``, ``text_quote``,
``text_slogan``) are read from ``raw_text`` but never written under a pytx name:
pytx has no such types, and a partner could not match them.
"""

from __future__ import annotations

import types
import typing as t
from dataclasses import dataclass

from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.signal_type.pdq.signal import PdqSignal
from threatexchange.signal_type.raw_text import RawTextSignal
from threatexchange.signal_type.sha256 import VideoSHA256Signal
from threatexchange.signal_type.signal_base import SignalType
from threatexchange.signal_type.url import URLSignal

from tidings.moderation.errors import UnknownSignalTypeError
from tidings.moderation.manifest import SIGNAL_TYPES, validate_value
from tidings.moderation.video import VpdqSignalType

CONTENT_TYPES = ("photo", "video", "file")
"""What a byte hash was taken of; ``None`` when unknown (imported under ``md5``)."""

PYTX_SIGNAL_TYPES: tuple[type[SignalType], ...] = (
    PdqSignal, VideoMD5Signal, VideoSHA256Signal, URLSignal, RawTextSignal, VpdqSignalType)
"""pytx's own classes (and ``vpdq``'s stand-in, see above), handed to exchanges'
``fetch_iter`` and conversions: the types pytx names pdq, video_md5, video_sha256,
url, raw_text and vpdq."""

_FROM_PYTX: t.Mapping[str, tuple[str, str | None]] = types.MappingProxyType({
    VideoMD5Signal.get_name(): ("md5", "video"),
    VideoSHA256Signal.get_name(): ("sha256", "video"),
    PdqSignal.get_name(): ("pdq", "photo"),
    URLSignal.get_name(): ("url", None),
})
"""pytx name -> (Tidings type, content type) where the names or meanings differ."""

RAW_TEXT = RawTextSignal.get_name()

_BYTE_HASHES = {"md5": VideoMD5Signal.get_name(), "sha256": VideoSHA256Signal.get_name()}
BYTE_HASH_TYPES = frozenset(_BYTE_HASHES)
"""Tidings types hashing media bytes, whose ``content_type`` decides the pytx name."""


@dataclass(frozen=True, slots=True)
class Converted:
    """One Tidings signal from a (pytx or Tidings) named value."""

    signal_type: str
    value: str
    content_type: str | None


def is_known_name(name: str) -> bool:
    return name in SIGNAL_TYPES or name in _FROM_PYTX or name == RAW_TEXT


def known_names() -> list[str]:
    return sorted({*SIGNAL_TYPES, *_FROM_PYTX, RAW_TEXT})


def from_named(name: str, value: str) -> list[Converted]:
    """Tidings signals for one ``<name> <value>``; raises ``ModerationError`` if bad.

    ``raw_text`` becomes the text signals Tidings matches (exact hash, near-duplicate
    signature when long enough), never the text itself.
    """
    if name == RAW_TEXT:
        from tidings.moderation.text_signals import bank_text_signals

        # the banked forms (a quote signature, never a query value)
        return [Converted(t, v, None) for t, v in bank_text_signals(value)]
    if name in _FROM_PYTX:
        ours, content_type = _FROM_PYTX[name]
        if ours not in SIGNAL_TYPES:  # pragma: no cover - every mapped type is registered
            raise UnknownSignalTypeError(name)
        return [Converted(ours, validate_value(ours, value),
                          content_type if ours in _BYTE_HASHES else None)]
    if name in SIGNAL_TYPES:
        return [Converted(name, validate_value(name, value), None)]
    raise UnknownSignalTypeError(name)


def to_pytx(signal_type: str, content_type: str | None) -> str | None:
    """pytx's name for a stored entry, or None when pytx has no type for it."""
    if signal_type in _BYTE_HASHES:
        return _BYTE_HASHES[signal_type] if content_type == "video" else None
    # Named alike in both (``vpdq`` is the name of pytx's vPDQ extension).
    return signal_type if signal_type in ("pdq", "url", "vpdq") else None


def omit_reason(signal_type: str, content_type: str | None) -> str:
    """Why ``to_pytx`` gave None, in words an operator can pass on to a partner."""
    if signal_type in _BYTE_HASHES:
        kind = content_type or "unknown media"
        return f"{signal_type} of {kind}: pytx has only {_BYTE_HASHES[signal_type]}"
    return f"{signal_type}: no pytx signal type"


__all__ = [
    "BYTE_HASH_TYPES",
    "CONTENT_TYPES",
    "PYTX_SIGNAL_TYPES",
    "RAW_TEXT",
    "Converted",
    "from_named",
    "is_known_name",
    "known_names",
    "omit_reason",
    "to_pytx",
]

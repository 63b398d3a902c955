"""Signals of uploaded media, computed once at upload (docs/decisions.md, "Media pipeline").

An upload is hashed exactly once, off the event loop, and its signals are stored with
the media record; the publish gate, the serving check and auto-banking reuse them and
never decode the media again. Which signals:

* **Exact hashes of the bytes as uploaded** (MD5, SHA-256): what partner lists
  (NCMEC, GIFCT, TCAP) bank. Photos are re-encoded before they are stored, so these are
  the only hashes of the original file that will ever exist; they are taken while the
  upload streams to disk.
* **Exact hashes of the bytes as stored** (the cleaned photo): what a takedown of
  media served here banks, and the media id itself.
* **PDQ of the decoded picture** (and of up to ``MEDIA_PDQ_FRAMES_MAX`` frames of an
  animation), with its quality. A low-texture picture (quality below
  ``PDQ_MIN_QUALITY``) keeps its PDQ on record but is *not* matched by it, because a
  flat hash matches unrelated flat pictures; it is matched by its exact hashes only,
  and :func:`low_texture` says so wherever a result is shown.

Adding a signal kind (vPDQ of videos, say) is one :class:`MediaHasher` subclass in
``HASHERS`` plus, if it needs more than ``PreparedMedia`` offers, one field there: the
service builds a ``PreparedMedia`` and stores whatever the hashers return.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pdqhash
from PIL import Image

from tidings.moderation import pdq_variants as pv
from tidings.moderation.content import Signal
from tidings.moderation.limits import PDQ_MIN_QUALITY

#: Where a signal was computed from (``MediaSignal.source``).
SOURCE_UPLOAD = "upload"
SOURCE_STORED = "stored"
SOURCE_PIXELS = "pixels"
FRAME_PREFIX = "frame:"
QUERY_PREFIX = "q:"
"""Sources of query-only variants (flips, trimmed borders, caption cuts: see
``pdq_variants``): matched at upload, never banked from the media."""


@dataclass(frozen=True, slots=True)
class MediaSignal:
    """One signal of one media item, as stored with its record."""

    signal_type: str
    value: str
    source: str
    quality: int | None = None

    @property
    def matchable(self) -> bool:
        """False for a PDQ too flat to trust; the exact hashes still match."""
        return self.quality is None or self.quality >= PDQ_MIN_QUALITY

    @property
    def bankable(self) -> bool:
        """False for query-only variants: banking a flipped or trimmed hash would
        make every later query's own variants reach further than measured."""
        return not self.source.startswith(QUERY_PREFIX)

    def signal(self) -> Signal:
        return Signal(self.signal_type, self.value, self.quality)


@dataclass(frozen=True)
class PreparedMedia:
    """What hashers may look at: digests taken while the upload streamed, and for
    photos the decoded picture (and a source of animation frames, decoded lazily)."""

    kind: str
    media_type: str
    upload_md5: str
    upload_sha256: str
    stored_md5: str
    stored_sha256: str
    pixels: Image.Image | None = field(default=None, repr=False)
    reduced: Image.Image | None = field(default=None, repr=False)
    """``pixels`` reduced for PDQ (``pdq_variants.reduce_for_pdq``) when the cleaning
    made that copy already (opaque RGB photos): hashed instead of reducing again."""
    frames: Callable[[], Iterator[Image.Image]] | None = field(default=None, repr=False)
    variants: Sequence[pv.PdqVariant] | None = field(default=None, repr=False)
    """``pv.query_hashes(pixels, reduced)`` when computed already (by a worker process,
    ``services/hash_workers.py``): used instead of hashing again."""


class MediaHasher(ABC):
    """A plugin computing one kind of signal at upload (pytx-style: classmethods)."""

    @classmethod
    @abstractmethod
    def get_name(cls) -> str: ...

    @classmethod
    @abstractmethod
    def applies_to(cls, media: PreparedMedia) -> bool: ...

    @classmethod
    @abstractmethod
    def hash(cls, media: PreparedMedia) -> list[MediaSignal]: ...


class ExactHasher(MediaHasher):
    """MD5 and SHA-256 of the bytes as uploaded and as stored (same for non-photos)."""

    @classmethod
    def get_name(cls) -> str:
        return "exact"

    @classmethod
    def applies_to(cls, media: PreparedMedia) -> bool:
        return True

    @classmethod
    def hash(cls, media: PreparedMedia) -> list[MediaSignal]:
        return [MediaSignal("md5", media.upload_md5, SOURCE_UPLOAD),
                MediaSignal("sha256", media.upload_sha256, SOURCE_UPLOAD),
                MediaSignal("md5", media.stored_md5, SOURCE_STORED),
                MediaSignal("sha256", media.stored_sha256, SOURCE_STORED)]


def pdq(image: Image.Image) -> tuple[str, int]:
    """(64-hex PDQ, quality 0-100) of a decoded picture, reduced first to about
    ``PDQ_HASH_MAX_SIDE`` pixels a side (integer box filter: fast, and the hash moves
    by a few bits only)."""
    rgb = pv.reduce_for_pdq(image)
    bits, quality = pdqhash.compute(np.asarray(rgb))
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex(), int(quality)


class PdqHasher(MediaHasher):
    """PDQ of the picture (stored, bankable) with its query-only variants (flips and
    rotations, trimmed borders, caption cuts, flattened transparency:
    ``pdq_variants``), and of each distinct frame of an animation."""

    @classmethod
    def get_name(cls) -> str:
        return "pdq"

    @classmethod
    def applies_to(cls, media: PreparedMedia) -> bool:
        return media.pixels is not None

    @classmethod
    def hash(cls, media: PreparedMedia) -> list[MediaSignal]:
        assert media.pixels is not None
        out = []
        variants = media.variants
        if variants is None:
            variants = pv.query_hashes(media.pixels, media.reduced)
        for n, variant in enumerate(variants):
            source = SOURCE_PIXELS if n == 0 else QUERY_PREFIX + variant.name
            out.append(MediaSignal("pdq", variant.value, source, variant.quality))
        if media.frames is not None:
            for n, frame in enumerate(media.frames()):
                for k, (_, rgb) in enumerate(pv.flattened(frame)):
                    value, quality = pdq(rgb)
                    source = f"{FRAME_PREFIX}{n}" if k == 0 else f"{QUERY_PREFIX}frame:{n}:b"
                    out.append(MediaSignal("pdq", value, source, quality))
        return out


HASHERS: tuple[type[MediaHasher], ...] = (ExactHasher, PdqHasher)
"""Every hasher the upload pipeline runs, in order."""


def media_signals(media: PreparedMedia,
                  hashers: Sequence[type[MediaHasher]] = HASHERS) -> tuple[MediaSignal, ...]:
    """All signals of one upload; a value found twice (a frame equal to the still, a
    file stored as uploaded) is kept once, with its first source."""
    seen: set[tuple[str, str]] = set()
    out: list[MediaSignal] = []
    for hasher in hashers:
        if not hasher.applies_to(media):
            continue
        for signal in hasher.hash(media):
            if (signal.signal_type, signal.value) not in seen:
                seen.add((signal.signal_type, signal.value))
                out.append(signal)
    return tuple(out)


def matchable(signals: Iterable[MediaSignal]) -> list[Signal]:
    """The signals the engine matches (a low-texture PDQ is left out)."""
    return [s.signal() for s in signals if s.matchable]


def low_texture(signals: Iterable[MediaSignal]) -> bool:
    """True when a picture's PDQ was too flat to match: only exact hashes count."""
    pdqs = [s for s in signals if s.signal_type == "pdq" and s.bankable]
    return bool(pdqs) and not any(s.matchable for s in pdqs)


LOW_TEXTURE_NOTE = (f"low-texture picture (PDQ quality below {PDQ_MIN_QUALITY}): matched "
                    "and banked by its exact MD5/SHA-256 only, so an altered copy will not "
                    "match")


def digests(data: bytes) -> tuple[str, str]:
    """(MD5, SHA-256) hex of bytes held in memory (a cleaned photo)."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest(), hashlib.sha256(data).hexdigest()

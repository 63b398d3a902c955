"""The ``vpdq`` signal type and the signals a video yields.

``VpdqSignalType`` is python-threatexchange's ``VPDQSignal`` (name, value
format, match rule; see ``vpdq``) without its module-level import of the
``vpdq`` C++ extension, with our faiss frame index behind it.

A video yields, besides its byte hashes, one ``vpdq`` signal and the PDQ
hashes of its distinct frames, so that a propaganda still banked as a photo
is found inside a video. Frames are "distinct" when they are more than
``VIDEO_FRAME_DEDUPE_DISTANCE`` bits from the last frame kept (a still shot
is one query, not sixty) and of PDQ quality >= 50.
"""

import typing as t

from threatexchange.content_type.content_base import ContentType
from threatexchange.content_type.video import VideoContent
from threatexchange.signal_type import signal_base
from threatexchange.signal_type.index import SignalSimilarityInfoWithIntDistance
from threatexchange.signal_type.pdq.signal import PdqSignal

from tidings.moderation import vpdq
from tidings.moderation.content import Signal
from tidings.moderation.errors import InvalidSignalError
from tidings.moderation.indexes.vpdq_faiss import VpdqFaissIndex
from tidings.moderation.limits import (
    PDQ_MIN_QUALITY,
    VIDEO_FRAME_DEDUPE_DISTANCE,
    VPDQ_DEFAULT_THRESHOLD,
    VPDQ_MAX_THRESHOLD,
)
from tidings.moderation.signal_types import HasThreshold


class VpdqSignalType(signal_base.SignalType, signal_base.BytesHasher, HasThreshold):
    """vPDQ: a JSON list of ``"pdq_hex,quality,timestamp"``, one per second."""

    @classmethod
    def get_name(cls) -> str:
        return "vpdq"

    @classmethod
    def get_content_types(cls) -> list[type[ContentType]]:
        return [VideoContent]

    @classmethod
    def get_index_cls(cls) -> type[VpdqFaissIndex]:
        return VpdqFaissIndex

    @classmethod
    def validate_signal_str(cls, signal_str: str) -> str:
        value = vpdq.canonical(signal_str)
        if not vpdq.from_signal_str(value):
            raise InvalidSignalError("a vpdq signal needs at least one frame")
        return value

    @classmethod
    def hash_from_bytes(cls, bytes_: bytes) -> str:
        """The reference's hash (exact decode, one frame a second); refuses
        with ``VideoRefusedError`` rather than answering an empty hash."""
        return vpdq.hash_video(bytes_, exact=True).signal_str()

    @classmethod
    def compare_hash(cls, hash1: str, hash2: str) -> signal_base.SignalComparisonResult:
        """``hash1`` is the query, as in pytx."""
        result = vpdq.match_percent(vpdq.from_signal_str(hash1), vpdq.from_signal_str(hash2))
        return signal_base.SignalComparisonResult(
            result.is_match(VPDQ_DEFAULT_THRESHOLD),
            SignalSimilarityInfoWithIntDistance(result.distance))

    @classmethod
    def default_threshold(cls) -> int:
        return VPDQ_DEFAULT_THRESHOLD

    @classmethod
    def max_threshold(cls) -> int:
        return VPDQ_MAX_THRESHOLD

    @staticmethod
    def get_examples() -> list[str]:
        """pytx's example: its PDQ examples as one frame a second."""
        return [vpdq.to_signal_str([vpdq.VpdqFeature(h, 100, float(i))
                                    for i, h in enumerate(PdqSignal.get_examples())])]


def frame_queries(features: t.Sequence[vpdq.VpdqFeature]) -> list[Signal]:
    """PDQ signals of a video's distinct, usable frames (for the photo bank)."""
    out: list[Signal] = []
    last: int | None = None
    for f in features:
        if f.quality < PDQ_MIN_QUALITY:
            continue
        value = int(f.pdq_hex, 16)
        if last is not None and (value ^ last).bit_count() <= VIDEO_FRAME_DEDUPE_DISTANCE:
            continue
        last = value
        out.append(Signal("pdq", f.pdq_hex, f.quality))
    return out


def video_signals(data: bytes, *, exact: bool = False) -> list[Signal]:
    """``vpdq`` plus the frames' PDQ queries. The gate uses the fast decode;
    banking (``exact``) hashes as the reference does."""
    hashed = vpdq.hash_video(data, exact=exact)
    out = [Signal("vpdq", hashed.signal_str())] if hashed.features else []
    return out + frame_queries(hashed.features)


__all__ = ["VpdqSignalType", "frame_queries", "video_signals"]

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
from tidings.moderation.content import MediaContent, Signal
from tidings.moderation.errors import InvalidSignalError
from tidings.moderation.indexes.vpdq_faiss import VpdqFaissIndex
from tidings.moderation.limits import (
    PDQ_MIN_QUALITY,
    VIDEO_FRAME_DEDUPE_DISTANCE,
    VPDQ_DEFAULT_THRESHOLD,
    VPDQ_MAX_THRESHOLD,
)
from tidings.moderation.signal_types import Checked, HasThreshold, QueryHasher


class VpdqSignalType(signal_base.SignalType, signal_base.BytesHasher, HasThreshold,
                     QueryHasher):
    """vPDQ: a JSON list of ``"pdq_hex,quality,timestamp"``, one per second."""

    @classmethod
    def query_signals(cls, content: Checked) -> list[Signal]:
        """``gate_signals``: the frames' vPDQ and their PDQ queries. A video that cannot
        be decoded, or is over a limit, raises ``VideoRefusedError``: a video we cannot
        see is refused, not published on its byte hashes alone."""
        return video_signals(content.data) if isinstance(content, MediaContent) else []

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


#: Names of the gate's video signals (``gate_signals``): the frames as decoded, the
#: frames with their bars trimmed (query-only: never banked from a post), and the
#: frames' PDQ queries against the photo bank.
VPDQ_PLAIN, VPDQ_TRIMMED, FRAME_PDQ = "vpdq", "vpdq_trimmed", "frame_pdq"


def gate_signals(data: bytes) -> list[tuple[str, Signal]]:
    """The publish gate's signals of a video (fast decode), each with its name:
    ``vpdq`` of the frames; ``vpdq`` of the frames with their bars trimmed when any
    frame had bars (a barred copy of a clip banked without bars, or the reverse
    with ``bank_vpdq_values``); the distinct frames' PDQ queries."""
    hashed = vpdq.hash_video(data, exact=False)
    out = [(VPDQ_PLAIN, Signal("vpdq", hashed.signal_str()))] if hashed.features else []
    trimmed = hashed.trimmed_signal_str()
    if trimmed is not None:
        out.append((VPDQ_TRIMMED, Signal("vpdq", trimmed)))
    return out + [(FRAME_PDQ, s) for s in frame_queries(hashed.features)]


def video_signals(data: bytes) -> list[Signal]:
    """``gate_signals`` without their names."""
    return [signal for _, signal in gate_signals(data)]


def bank_vpdq_values(data: bytes) -> list[str]:
    """The vpdq values banked for a video we hold: the reference's hash (exact
    decode); the same frames hashed as the gate hashes them (reduced luma: a copy
    at another size, hashed reduced at the gate, lands closer to it, as photos bank
    working-size copies); and when its frames have bars, the hash of the frames
    with their bars trimmed, so that a copy without the bars (or with other bars,
    trimmed at the gate) matches too."""
    hashed = vpdq.hash_video(data, exact=True, trim=True)
    values = [hashed.signal_str(), vpdq.to_signal_str(hashed.reduced),
              hashed.trimmed_signal_str()]
    return list(dict.fromkeys(v for v in values if v is not None and v != "[]"))


__all__ = ["FRAME_PDQ", "VPDQ_PLAIN", "VPDQ_TRIMMED", "VpdqSignalType", "bank_vpdq_values",
           "frame_queries", "gate_signals", "video_signals"]

"""vPDQ, Meta's video hash: one PDQ hash of a frame per second of video.

Decoding is PyAV's (its wheels bundle FFmpeg, so no system FFmpeg and no
C++ build); hashing is the project's PDQ (``pdqhash``, the same C++ PDQ code
the reference uses). Formats and matching follow python-threatexchange's
vpdq extension (``extensions/vpdq/vpdq_util.py`` and ``vpdq_brute_matcher.py``):

* a signal is a JSON list of compact features ``"pdq_hex,quality,timestamp"``,
  the timestamp formatted as pytx does, ``f"{t:.3}"`` (three significant
  digits: ``12.0`` but ``1.23e+02``), so pytx reads ours and we read its;
* two videos match when at least 80 % of the query's frames of quality >= 50
  (exact duplicates dropped) are within Hamming distance 31 of some frame of
  the compared video, and at least 0 % the other way round.

Two decoding modes, because a full decode of 60 s of 720p H.264 costs ~9.5 s
of CPU on this project's machine and the gate must decide in 5 s:

* ``exact`` (banking, ``tidings hash --frames``): every frame decoded with the
  loop filter, frames chosen as the reference does (decoder output number
  ``n`` hashed when ``n % int(seconds_per_hash * fps) == 0``, timestamp
  ``n / fps``) and converted to RGB at full size. Agrees with the reference
  per-frame hashes to ~1.4 bits on average (tests/moderation/test_vpdq.py).
* fast (the publish gate): the decoder skips non-reference frames and the
  in-loop deblocking filter (FFmpeg ``skip_frame=nonref``,
  ``skip_loop_filter=all``), except the packet of each frame the exact mode
  would hash (by its timestamp), which is decoded whatever its type; so the
  frames hashed are the exact mode's frames. Each is reduced by FFmpeg by an
  integer factor to about 512 px a side and hashed from its luma
  (``vpdq_frames``). Measured 2 bits from the exact hashes on the SD samples,
  ~5 on a 720p clip (the reduction), at ~4 s of CPU for a 60 s 720p clip
  (docs/benchmarks-notes.md). Skipping all B-frames (``bidir``) would decode
  faster, but a target frame that is a B-frame may need a skipped B-frame it
  refers to.

Bars: the fast mode (and banking, with ``trim``) also hashes each frame cut to
the video's letterbox/pillarbox box (``vpdq_frames.bars_box``: the image
pipeline's ``content_box`` on a few frames, a majority per edge), so that a
barred copy of a clip banked without bars matches, and the reverse.

Frames the fast mode skips are never seen by it. That is the limitation
1-fps sampling already has (content shown only between sampled frames is not
hashed), made a little wider: content carried only by non-reference frames
while the others show something else would pass. A stream whose frames are
mostly skipped is therefore decoded again in exact mode
(``MAX_SKIPPED_FRACTION``), so such content must share the screen with at
least a third of other frames.

Cost is bounded before and during decoding (``limits.VIDEO_*``): container
and codec allow-lists, frame size, duration by header, by timestamps and by
frame count, and total decoded pixels. The functions are pure (bytes in,
values out); callers run them off the event loop.
"""

from __future__ import annotations

import io
import json
import math
import typing as t
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from tidings.moderation import vpdq_frames as frames
from tidings.moderation.errors import InvalidSignalError, VideoRefusedError
from tidings.moderation.limits import (
    PDQ_BYTES,
    VIDEO_CODECS,
    VIDEO_MAX_DECODED_PIXELS,
    VIDEO_MAX_DURATION_S,
    VIDEO_MAX_FPS,
    VIDEO_MAX_FRAME_PIXELS,
    VIDEO_MAX_FRAMES,
    VIDEO_MIN_FPS,
    VPDQ_COMPARED_MATCH_PERCENT,
    VPDQ_DISTANCE_THRESHOLD,
    VPDQ_MAX_FEATURES,
    VPDQ_MAX_SIGNAL_CHARS,
    VPDQ_QUALITY_THRESHOLD,
    VPDQ_SECONDS_PER_HASH,
)

#: pytx's VPDQ_TIMESTAMP_PRECISION, used as ``f"{t:.{3}}"`` (significant digits).
TIMESTAMP_PRECISION: t.Final = 3
#: FFmpeg demuxers we open, by container magic (ISO BMFF; Matroska/WebM).
#: Never probed: a probe would let a file pick any of FFmpeg's demuxers,
#: including playlist formats that open other files.
_DEMUXERS: t.Final = {"iso": "mov", "ebml": "matroska"}
#: Frames the fast mode does not decode (FFmpeg's AVDiscard name).
FAST_SKIP_FRAME: t.Final = "NONREF"
#: Fast mode re-decodes in exact mode when more than this fraction of the
#: packets were frames it skipped (x264's defaults: ~43 % non-reference).
MAX_SKIPPED_FRACTION: t.Final = 0.67


# --- features and their serialisation ---------------------------------------


@dataclass(frozen=True, slots=True)
class VpdqFeature:
    """One hashed frame. ``frame_number`` is not part of the compact form."""

    pdq_hex: str
    quality: int
    timestamp: float
    frame_number: int = field(default=0, compare=False)

    def compact(self) -> str:
        """pytx's ``VpdqCompactFeature.__str__``, character for character."""
        return f"{self.pdq_hex},{self.quality},{float(self.timestamp):.{TIMESTAMP_PRECISION}}"

    def frame_line(self) -> str:
        """The reference tools' per-frame line: ``frame,quality,hex,seconds``."""
        return f"{self.frame_number},{self.quality},{self.pdq_hex},{self.timestamp:.3f}"

    @classmethod
    def from_compact(cls, text: str) -> VpdqFeature:
        parts = text.split(",")
        if len(parts) != 3:
            raise InvalidSignalError(f"vpdq feature is not hex,quality,timestamp: {text[:80]!r}")
        pdq_hex, quality_s, time_s = (p.strip() for p in parts)
        pdq_hex = pdq_hex.lower()
        if len(pdq_hex) != 2 * PDQ_BYTES or any(c not in "0123456789abcdef" for c in pdq_hex):
            raise InvalidSignalError("vpdq feature's PDQ hash must be 64 hex characters")
        try:
            quality, timestamp = int(quality_s), float(time_s)
        except ValueError as exc:
            raise InvalidSignalError(f"vpdq feature has a bad number: {text[:80]!r}") from exc
        if not 0 <= quality <= 100:
            raise InvalidSignalError("vpdq quality must be 0-100")
        if not (math.isfinite(timestamp) and timestamp >= 0):
            raise InvalidSignalError("vpdq timestamp must be a finite, non-negative number")
        return cls(pdq_hex, quality, timestamp)


def to_signal_str(features: Sequence[VpdqFeature]) -> str:
    """pytx's ``vpdq_to_json``: a JSON list of compact features."""
    return json.dumps([f.compact() for f in features])


def from_signal_str(signal_str: str) -> list[VpdqFeature]:
    """pytx's ``json_to_vpdq``, bounded (size, feature count) and typed errors."""
    if len(signal_str) > VPDQ_MAX_SIGNAL_CHARS:
        raise InvalidSignalError(f"vpdq signal over {VPDQ_MAX_SIGNAL_CHARS} characters")
    try:
        items = json.loads(signal_str or "[]")
    except ValueError as exc:
        raise InvalidSignalError("vpdq signal is not a JSON list") from exc
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise InvalidSignalError("vpdq signal must be a JSON list of strings")
    if len(items) > VPDQ_MAX_FEATURES:
        raise InvalidSignalError(f"vpdq signal has over {VPDQ_MAX_FEATURES} frames")
    return [VpdqFeature.from_compact(i) for i in items]


def canonical(signal_str: str) -> str:
    """The one spelling we store (lower-case hex, pytx's number format)."""
    return to_signal_str(from_signal_str(signal_str))


# --- matching ----------------------------------------------------------------


def usable(features: Sequence[VpdqFeature],
           min_quality: int = VPDQ_QUALITY_THRESHOLD) -> list[str]:
    """Hashes that take part in matching: exact duplicates dropped (first
    kept), then frames below the quality threshold (pytx's dedupe and
    quality_filter)."""
    seen: set[str] = set()
    out: list[str] = []
    for f in features:
        if f.pdq_hex not in seen:
            seen.add(f.pdq_hex)
            if f.quality >= min_quality:
                out.append(f.pdq_hex)
    return out


def hex_to_codes(hashes: Sequence[str]) -> npt.NDArray[np.uint8]:
    raw = b"".join(bytes.fromhex(h) for h in hashes)
    return np.frombuffer(raw, dtype=np.uint8).reshape(len(hashes), PDQ_BYTES)


def distances(a: npt.NDArray[np.uint8], b: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
    """All pairwise Hamming distances between two sets of packed hashes."""
    xa = a.view(np.uint64)[:, None, :]
    xb = b.view(np.uint64)[None, :, :]
    out: npt.NDArray[np.int64] = np.bitwise_count(xa ^ xb).sum(axis=2, dtype=np.int64)
    return out


@dataclass(frozen=True, slots=True)
class MatchPercent:
    """pytx's VPDQMatchResult, plus the integer distance our matcher ranks by."""

    query_match_percent: float
    compared_match_percent: float
    query_frames: int
    query_matched: int

    @property
    def distance(self) -> int:
        """Percentage of the query's usable frames left unmatched, rounded up
        (so ``distance <= 20`` is exactly ``query_match_percent >= 80``); 100
        when the query has no usable frame."""
        return unmatched_percent(self.query_frames, self.query_matched)

    def is_match(self, threshold: int) -> bool:
        return (self.query_frames > 0 and self.distance <= threshold
                and self.compared_match_percent >= VPDQ_COMPARED_MATCH_PERCENT)


def unmatched_percent(total: int, matched: int) -> int:
    if total <= 0:
        return 100
    return (100 * (total - matched) + total - 1) // total


def match_percent(query: Sequence[VpdqFeature], compared: Sequence[VpdqFeature],
                  distance_threshold: int = VPDQ_DISTANCE_THRESHOLD) -> MatchPercent:
    """pytx's ``match_VPDQ_hash_brute`` (an empty side matches 0 %, not a
    division by zero)."""
    q, c = usable(query), usable(compared)
    if not q or not c:
        return MatchPercent(0.0, 0.0, len(q), 0)
    close = distances(hex_to_codes(q), hex_to_codes(c)) <= distance_threshold
    q_hits, c_hits = int(close.any(axis=1).sum()), int(close.any(axis=0).sum())
    return MatchPercent(100 * q_hits / len(q), 100 * c_hits / len(c), len(q), q_hits)


# --- decoding and hashing ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class VideoHash:
    """What hashing a video found out: its features and what it cost."""

    features: tuple[VpdqFeature, ...]
    width: int
    height: int
    fps: float
    duration_s: float
    codec: str
    packets: int
    decoded_frames: int
    exact: bool
    #: One feature per hashed frame: the picture inside its bars where the frame
    #: has bars, else the frame (``vpdq_frames.trimmed``); empty when no frame had
    #: bars or trimming was not asked for.
    trimmed: tuple[VpdqFeature, ...] = ()
    #: Exact decode with ``trim``: the same frames hashed as the fast mode hashes
    #: them (reduced luma), banked beside the reference's hash.
    reduced: tuple[VpdqFeature, ...] = ()

    def signal_str(self) -> str:
        return to_signal_str(self.features)

    def trimmed_signal_str(self) -> str | None:
        """The vpdq signal of the trimmed frames, or None when no frame had bars."""
        return to_signal_str(self.trimmed) if self.trimmed else None


def _container(data: bytes) -> str:
    if data[4:8] == b"ftyp":
        return _DEMUXERS["iso"]
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return _DEMUXERS["ebml"]
    raise VideoRefusedError("not an MP4, QuickTime, WebM or Matroska video", "video_unsupported")


def _fps(stream: t.Any) -> float:
    rate = stream.average_rate or stream.base_rate or stream.guessed_rate
    fps = float(rate) if rate else 0.0
    if not math.isfinite(fps) or fps <= 0:
        fps = float(VIDEO_MAX_FPS)
    return min(max(fps, VIDEO_MIN_FPS), VIDEO_MAX_FPS)


def _declared_duration(container: t.Any, stream: t.Any) -> float | None:
    if stream.duration is not None and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration) / 1_000_000  # AV_TIME_BASE
    return None


def _too_long(seconds: float) -> VideoRefusedError:
    return VideoRefusedError(f"video is longer than {VIDEO_MAX_DURATION_S} s "
                             f"({seconds:.0f} s)", "video_too_long")


def hash_video(data: bytes, seconds_per_hash: float = VPDQ_SECONDS_PER_HASH,
               *, exact: bool = True, trim: bool | None = None) -> VideoHash:
    """Hash a video's frames, one per ``seconds_per_hash`` (0: every frame).
    ``trim`` (default: in fast mode only) also hashes each frame with its bars
    trimmed (``VideoHash.trimmed``); not with every frame hashed (``0``), which
    would keep every frame's pixels until the end.

    Raises ``VideoRefusedError`` (its ``code`` says why) for anything we do
    not decode or that is over a limit.
    """
    if seconds_per_hash < 0 or not math.isfinite(seconds_per_hash):
        raise ValueError("seconds_per_hash must be a finite, non-negative number")
    import av  # lazily: 0.3-0.9 s to import, and only video needs it

    trim = (not exact if trim is None else trim) and seconds_per_hash > 0
    fmt = _container(data)
    try:
        result = _hash(data, fmt, seconds_per_hash, exact, trim)
    except av.FFmpegError as exc:
        raise VideoRefusedError(f"video cannot be decoded ({type(exc).__name__})") from exc
    if not exact and result.packets and (
            1 - result.decoded_frames / result.packets > MAX_SKIPPED_FRACTION):
        return hash_video(data, seconds_per_hash, exact=True, trim=trim)
    return result


def _hash(data: bytes, fmt: str, seconds_per_hash: float, exact: bool,
          trim: bool) -> VideoHash:
    import av

    with av.open(io.BytesIO(data), format=fmt) as container:
        if not container.streams.video:
            raise VideoRefusedError("the file has no video stream", "video_unsupported")
        stream = container.streams.video[0]
        codec = stream.codec_context.name
        if codec not in VIDEO_CODECS:
            raise VideoRefusedError(f"video codec {codec!r} is not accepted "
                                    f"(accepted: {', '.join(sorted(VIDEO_CODECS))})",
                                    "video_unsupported")
        _check_size(stream.codec_context.width, stream.codec_context.height)
        declared = _declared_duration(container, stream)
        if declared is not None and declared > VIDEO_MAX_DURATION_S:
            raise _too_long(declared)
        stream.thread_type = "AUTO"
        if not exact:
            stream.codec_context.skip_frame = FAST_SKIP_FRAME
            stream.codec_context.options = {"skip_loop_filter": "all"}
        fps = _fps(stream)
        frame_mod = max(1, int(seconds_per_hash * fps))
        features: list[VpdqFeature] = []
        grays: list[npt.NDArray[np.uint8]] = []  # reduced frames, kept to trim bars
        counter = _Counter(frame_pixels=stream.codec_context.width * stream.codec_context.height)
        for number, frame in _frames(container, stream, fps, frame_mod, exact, counter):
            skip = number % frame_mod != 0 if exact else number < counter.due
            if skip:
                continue
            counter.due = (number // frame_mod + 1) * frame_mod
            gray = frames.reduced_gray(frame) if trim or not exact else None
            if gray is None or exact:
                pdq_hex, quality = frames.full_rgb(frame)
            else:
                pdq_hex, quality = frames.pdq_gray(gray)
            features.append(VpdqFeature(pdq_hex, quality, number / fps, number))
            if gray is not None and trim:
                grays.append(gray)
            if seconds_per_hash and len(features) > VPDQ_MAX_FEATURES:
                raise _too_long(number / fps)
        if counter.frames == 0:
            raise VideoRefusedError("the video has no decodable frame")
        return VideoHash(tuple(features), counter.width, counter.height, fps,
                         counter.last / fps, codec, counter.packets, counter.frames, exact,
                         _trimmed(features, grays),
                         tuple(VpdqFeature(*frames.pdq_gray(g), f.timestamp, f.frame_number)
                               for g, f in zip(grays, features, strict=True))
                         if exact and grays else ())


def _trimmed(features: Sequence[VpdqFeature],
             grays: Sequence[npt.NDArray[np.uint8]]) -> tuple[VpdqFeature, ...]:
    hashed = frames.trimmed_hashes(grays)
    if hashed is None:
        return ()
    return tuple(VpdqFeature(h, q, f.timestamp, f.frame_number)
                 for (h, q), f in zip(hashed, features, strict=True))


@dataclass
class _Counter:
    packets: int = 0
    frames: int = 0
    pixels: int = 0
    frame_pixels: int = 0
    width: int = 0
    height: int = 0
    last: int = -1
    due: int = 0


def _check_size(width: int, height: int) -> None:
    if width * height > VIDEO_MAX_FRAME_PIXELS:
        raise VideoRefusedError(f"video frames of {width}x{height} are over "
                                f"{VIDEO_MAX_FRAME_PIXELS} pixels", "video_too_large")


def _frames(container: t.Any, stream: t.Any, fps: float, frame_mod: int, exact: bool,
            c: _Counter) -> Iterator[tuple[int, t.Any]]:
    """Decoded frames with their frame numbers, enforcing the cost limits.

    Exact mode numbers frames as the reference does (decoder output order).
    Fast mode skips frames, so it numbers each frame by its timestamp, never
    going backwards; a stream with no or frozen timestamps thus numbers its
    frames one by one, and one whose timestamps jump is refused as too long.
    """
    start: float | None = None
    packet_start: float | None = None
    max_number = VIDEO_MAX_DURATION_S * fps
    for packet in container.demux(stream):
        if not exact and packet.pts is not None and packet.time_base:
            # Decode the frame the exact mode would hash even if nothing refers to it.
            seconds = float(packet.pts * packet.time_base)
            packet_start = seconds if packet_start is None else packet_start
            due = round((seconds - packet_start) * fps) % frame_mod == 0
            stream.codec_context.skip_frame = "DEFAULT" if due else FAST_SKIP_FRAME
        if packet.size:
            c.packets += 1
            c.pixels += c.frame_pixels  # skipped frames cost (about) a frame too
            if c.packets > VIDEO_MAX_FRAMES:
                raise _too_long(c.packets / fps)
            if c.pixels > VIDEO_MAX_DECODED_PIXELS:
                raise VideoRefusedError(
                    f"video needs more than {VIDEO_MAX_DECODED_PIXELS} decoded pixels "
                    "(too long at this size)", "video_too_long")
        for frame in packet.decode():
            _check_size(frame.width, frame.height)
            c.frames += 1
            c.width, c.height = frame.width, frame.height
            c.frame_pixels = frame.width * frame.height
            if exact or frame.time is None:
                number = c.last + 1
            else:
                start = float(frame.time) if start is None else start
                number = max(c.last + 1, round((float(frame.time) - start) * fps))
            if number > max_number:
                raise _too_long(number / fps)
            c.last = number
            yield number, frame


__all__ = [
    "MatchPercent",
    "VideoHash",
    "VpdqFeature",
    "canonical",
    "from_signal_str",
    "hash_video",
    "match_percent",
    "to_signal_str",
    "usable",
]

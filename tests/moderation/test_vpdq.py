"""vPDQ: agreement with Meta's reference hashes, pytx's format and match rule, limits."""

from __future__ import annotations

import importlib
import json
import sys
import types
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from threatexchange.signal_type.pdq.signal import PdqSignal

from tests.moderation.videos import (
    CHAIR,
    PADDED,
    derive,
    letterbox,
    noise_video,
    reencode,
    reference_lines,
    unbarred,
    widescreen,
)
from tidings.moderation import Matcher, Signal, vpdq
from tidings.moderation.errors import InvalidSignalError, VideoRefusedError
from tidings.moderation.indexes.vpdq_faiss import VpdqFaissIndex
from tidings.moderation.limits import VIDEO_MAX_DURATION_S, VPDQ_MAX_FEATURES
from tidings.moderation.video import VpdqSignalType, bank_vpdq_values, video_signals


def bits(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


@pytest.mark.parametrize(("video", "every"), [(CHAIR, 6), (PADDED, 3)])
def test_frames_agree_with_the_reference(video: Any, every: int) -> None:
    """Every ``every``-th frame (the whole clip is benchmarks/vpdq_video.py's job):
    same frame numbers, timestamps and qualities; mean <= 1.5 bits, none over 10."""
    reference = reference_lines(video)
    fps = 30
    hashed = vpdq.hash_video(video.read_bytes(), every / fps, exact=True)
    assert [f.frame_number for f in hashed.features] == list(range(0, len(reference), every))
    distances = []
    for feature in hashed.features:
        ref = reference[feature.frame_number]
        frame, quality, _hex, seconds = feature.frame_line().split(",")
        assert [frame, quality, seconds] == [ref[0], ref[1], ref[3]]
        distances.append(bits(feature.pdq_hex, ref[2]))
    assert np.mean(distances) <= 1.5 and max(distances) <= 10, distances


@pytest.fixture
def pytx_vpdq_util() -> Iterator[types.ModuleType]:
    """pytx's own vpdq_util (its real serialisation code). It imports the ``vpdq``
    C++ extension at module level for a type annotation only; a stand-in module lets
    it import without that build."""
    stand_in = types.ModuleType("vpdq")
    setattr(stand_in, "VpdqFeature", object)  # noqa: B010 (a module built at run time)
    saved = sys.modules.get("vpdq")
    sys.modules["vpdq"] = stand_in
    try:
        yield importlib.import_module("threatexchange.extensions.vpdq.vpdq_util")
    finally:
        sys.modules.pop("threatexchange.extensions.vpdq.vpdq_util", None)
        if saved is None:
            sys.modules.pop("vpdq", None)
        else:
            sys.modules["vpdq"] = saved


def test_serialisation_round_trips_with_pytx(pytx_vpdq_util: types.ModuleType) -> None:
    util = pytx_vpdq_util
    hexes = PdqSignal.get_examples()[:4]
    times = [0.0, 1.0, 12.345, 123.0]  # pytx writes f"{t:.3}": "12.3", "1.23e+02"
    theirs = util.vpdq_to_json([util.VpdqCompactFeature(h, 90, s) for h, s in
                                zip(hexes, times, strict=True)])
    assert "1.23e+02" in theirs and "12.3" in theirs
    ours = vpdq.to_signal_str([vpdq.VpdqFeature(h, 90, s) for h, s in
                               zip(hexes, times, strict=True)])
    assert ours == theirs
    assert vpdq.canonical(theirs) == theirs
    assert VpdqSignalType.validate_signal_str(theirs) == theirs
    back = util.json_to_vpdq(vpdq.to_signal_str(vpdq.from_signal_str(theirs)))
    assert [(f.pdq_hex, f.quality) for f in back] == [(h, 90) for h in hexes]
    # A real video's hash, read by pytx and written back, is the same string.
    signal = vpdq.hash_video(PADDED.read_bytes()).signal_str()
    assert util.vpdq_to_json(util.json_to_vpdq(signal)) == signal


@pytest.mark.parametrize("bad", [
    "not json", "{}", "[1]", '["abc,100,0"]', '["' + "0" * 64 + ',101,0"]',
    '["' + "0" * 64 + ',50,-1"]', '["' + "0" * 64 + ',50,nan"]', '["' + "g" * 64 + ',5,0"]',
    json.dumps(["f" * 64 + ",100,0"] * (VPDQ_MAX_FEATURES + 1)), "[]",
])
def test_malformed_signals_are_refused(bad: str) -> None:
    with pytest.raises(InvalidSignalError):
        VpdqSignalType.validate_signal_str(bad)


@pytest.fixture(scope="module")
def chair() -> vpdq.VideoHash:
    return vpdq.hash_video(CHAIR.read_bytes(), exact=True)


@pytest.fixture(scope="module")
def padded() -> vpdq.VideoHash:
    return vpdq.hash_video(PADDED.read_bytes(), exact=True)


def test_copies_match_and_other_clips_do_not(chair: vpdq.VideoHash,
                                             padded: vpdq.VideoHash) -> None:
    data = CHAIR.read_bytes()
    # Derived here with PyAV from the real clip: a lower-quality re-encode of its
    # first 8 s, a grey copy, an MPEG-4 Part 2 copy in Matroska (another codec and
    # container).
    copies = {
        "reencode": reencode(data, seconds=8, crf=35),
        "grey": reencode(data, seconds=6, grey=True),
        "mpeg4_mkv": reencode(data, seconds=6, codec="mpeg4", container="matroska"),
    }
    for name, copy in copies.items():
        fast = vpdq.hash_video(copy, exact=False)
        result = vpdq.match_percent(fast.features, chair.features)
        assert result.is_match(20), (name, result)
        assert VpdqSignalType.compare_hash(fast.signal_str(), chair.signal_str()).match
    # The fast decode of the original itself matches its exact hash.
    assert vpdq.match_percent(vpdq.hash_video(data, exact=False).features,
                              chair.features).query_match_percent >= 90
    # Different clips: no frame of one is within 31 bits of the other.
    cross = vpdq.match_percent(padded.features, chair.features)
    assert cross.query_match_percent == 0 and cross.compared_match_percent == 0
    assert not VpdqSignalType.compare_hash(chair.signal_str(), padded.signal_str()).match


def best_match(query: bytes, banked: list[str]) -> float:
    """Best query match % of a posted video (gate signals: plain and bar-trimmed
    vpdq) against a banked video's values; -1 when the query has no vpdq."""
    values = [s.value for s in video_signals(query) if s.signal_type == "vpdq"]
    return max((vpdq.match_percent(vpdq.from_signal_str(q), vpdq.from_signal_str(b))
                .query_match_percent for q in values for b in banked), default=-1.0)


def test_bars_are_trimmed_on_both_sides() -> None:
    """Copies derived here with PyAV from the real clip (pillar bars at x < 32 and
    x >= 448): letterboxed (dark grey bars above and below), in a 16:9 frame, and
    without its bars, enlarged (the HD original an SD copy with bars is made
    from). Each matches the clip banked with its bars; banked without bars, the
    clip matches it too. Another clip, barred the same ways, matches neither."""
    data = CHAIR.read_bytes()
    banked = bank_vpdq_values(data)
    assert len(banked) == 3  # the reference's hash, the gate's (reduced), the content
    nobars = derive(data, unbarred((32, 0, 448, 720)), seconds=6)
    copies = {"letterbox": derive(data, letterbox(0.12, colour=24), seconds=6),
              "16x9": derive(data, widescreen(), seconds=6), "nobars": nobars}
    plain_only = [banked[0]]
    for name, copy in copies.items():
        assert best_match(copy, banked) >= 80, name
        # Without the trimming the bars defeat the reference's hash (what issue 18
        # measured): the plain vpdq of the copy against the plain banked one.
        plain = vpdq.hash_video(copy, exact=False).features
        assert vpdq.match_percent(plain, vpdq.from_signal_str(plain_only[0])
                                  ).query_match_percent < 80, name
    banked_nobars = bank_vpdq_values(nobars)
    assert len(banked_nobars) == 2  # no bars, nothing trimmed
    assert best_match(derive(data, letterbox(0.1), seconds=6), banked_nobars) >= 80
    other = PADDED.read_bytes()
    for transform in (letterbox(0.12, colour=24), widescreen()):
        assert best_match(derive(other, transform), banked + banked_nobars) == 0


def feature(h: int, quality: int = 100, second: float = 0.0) -> vpdq.VpdqFeature:
    return vpdq.VpdqFeature(f"{h:064x}", quality, second)


def spread(n: int, seed: int) -> list[int]:
    """n hashes pairwise far apart (random 256-bit values are ~128 bits apart)."""
    rng = np.random.default_rng(seed)
    return [int.from_bytes(rng.bytes(32), "big") for _ in range(n)]


def test_index_applies_pytx_percentages() -> None:
    banked = spread(10, 1)
    others = spread(10, 2)
    index = VpdqFaissIndex()
    index.add(vpdq.to_signal_str([feature(h, second=i) for i, h in enumerate(banked)]), 7)
    index.add(vpdq.to_signal_str([feature(h, quality=10) for h in others]), 8)  # too flat

    def query(matching: int, total: int = 10) -> str:
        frames = [feature(h ^ 0b111) for h in banked[:matching]]  # 3 bits off
        frames += [feature(h) for h in others[: total - matching]]
        return vpdq.to_signal_str(frames)

    assert index.search(query(8), 20) == [vpdq_hit(7, 20)]  # 80 %: a match
    assert index.search(query(7), 20) == []  # 70 %
    assert index.search(query(7), 30) == [vpdq_hit(7, 30)]  # a bank may loosen it
    # Low-quality query frames and exact duplicates do not count.
    dup = vpdq.to_signal_str([feature(banked[0])] * 5 + [feature(others[0], quality=5)])
    assert index.search(dup, 0) == [vpdq_hit(7, 0)]
    assert index.search(vpdq.to_signal_str([feature(others[0], quality=5)]), 100) == []
    index.disable(7)
    assert index.search(query(10), 20) == []
    clone = VpdqFaissIndex.from_bytes(index.to_bytes())
    clone.enable(7)
    assert clone.search(query(10), 0) == [vpdq_hit(7, 0)] and len(clone) == 2
    with pytest.raises(ValueError):
        VpdqFaissIndex.from_bytes(index.to_bytes()[:-3])


def vpdq_hit(entry: int, distance: int) -> Any:
    from tidings.moderation.indexes import IndexHit
    return IndexHit(entry, distance)


def test_matcher_thresholds_and_frames_against_photos(chair: vpdq.VideoHash) -> None:
    """Through the matcher: the vpdq default (80 %), a bank override, and a banked
    photo (a frame of the clip) found by the video's frame queries."""
    matcher = Matcher()
    matcher.add(1, "vpdq", chair.signal_str(), "VIDEOS")
    matcher.add(2, "pdq", chair.features[5].pdq_hex, "STILLS")
    signals = video_signals(reencode(CHAIR.read_bytes(), seconds=8, crf=35))
    found = {(m.bank, m.signal_type) for m in matcher.query(signals)}
    assert found == {("VIDEOS", "vpdq"), ("STILLS", "pdq")}
    # The clip has pillar bars: its frames as decoded, and with the bars trimmed.
    assert [s.signal_type for s in signals].count("vpdq") == 2
    # Eight seconds of a nineteen-second clip: all of the query matches (distance
    # 0) although most of the banked clip is absent (pytx's compared % is 0).
    assert min(m.distance for m in matcher.query(signals) if m.signal_type == "vpdq") == 0
    other = video_signals(PADDED.read_bytes())
    assert matcher.query(other) == []
    assert matcher.query([Signal("vpdq", other[0].value)], {"VIDEOS": 50}) == []


def test_hostile_videos_are_refused() -> None:
    with pytest.raises(VideoRefusedError) as err:
        vpdq.hash_video(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 500)
    assert err.value.code == "video_undecodable"
    truncated = CHAIR.read_bytes()[:3000]
    with pytest.raises(VideoRefusedError):
        vpdq.hash_video(truncated)
    with pytest.raises(VideoRefusedError) as err:
        vpdq.hash_video(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    assert err.value.code == "video_unsupported"
    # Derived here: tiny noise clips that break one limit each.
    long = noise_video(VIDEO_MAX_DURATION_S + 5, fps=1)
    with pytest.raises(VideoRefusedError) as err:
        vpdq.hash_video(long, exact=False)
    assert err.value.code == "video_too_long"
    huge = noise_video(1, fps=1, width=4096, height=2304)
    with pytest.raises(VideoRefusedError) as err:
        vpdq.hash_video(huge)
    assert err.value.code == "video_too_large"
    mpeg2 = noise_video(2, fps=1, codec="mpeg2video")
    with pytest.raises(VideoRefusedError) as err:
        vpdq.hash_video(mpeg2)
    assert err.value.code == "video_unsupported"


def test_long_vpdq_entries_import_and_back_up() -> None:
    """Five minutes of video is ~24,000 characters, over the 8,192 of other lines."""
    from tidings.moderation import format_bank_csv, parse_bank_csv, parse_signal_file

    value = vpdq.to_signal_str([feature(h, second=i) for i, h in enumerate(spread(300, 3))])
    assert len(value) > 20_000
    (parsed,) = parse_signal_file(f"vpdq {value}\n")
    assert parsed.value == value
    (entry,) = parse_bank_csv(
        f"signal_type,signal_value,bank,labels,source,added_at,enabled\n"
        f'vpdq,"{value.replace(chr(34), chr(34) * 2)}",VIDEOS,category:terrorist_content,'
        "partner,2026-12-02T10:00:00+00:00,true\n", 1)
    assert entry.value == value
    assert parse_bank_csv(format_bank_csv([entry]), 1)[0].value == value
    with pytest.raises(ValueError):
        parse_signal_file("md5 " + "a" * 20_000)

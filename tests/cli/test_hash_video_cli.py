"""`tidings hash VIDEO` and `--frames` as a subprocess (no server)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_banks_cli import tidings
from tests.moderation.videos import PADDED, reference_lines
from tidings.moderation import parse_signal_file, vpdq


async def test_hash_prints_vpdq_and_frames_like_the_reference(tmp_path: Path) -> None:
    _, out, _ = await tidings("hash", str(PADDED))
    lines = out.splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == ["vpdq", "md5", "sha256"]
    (parsed, *_) = parse_signal_file(out)  # importable as it is printed
    assert len(vpdq.from_signal_str(parsed.value)) == 5  # 150 frames at 30 fps

    _, frames, _ = await tidings("hash", str(PADDED), "--frames")
    reference = reference_lines(PADDED)
    rows = [line.split(",") for line in frames.splitlines()]
    assert len(rows) == len(reference) == 150
    for row in rows:
        ref = reference[int(row[0])]
        assert (row[1], row[3]) == (ref[1], ref[3])
        assert (int(row[2], 16) ^ int(ref[2], 16)).bit_count() <= 10
    _, as_json, _ = await tidings("hash", str(PADDED), "--frames", "--json")
    assert json.loads(as_json)[1]["timestamp"] == 0.033

    broken = tmp_path / "broken.mp4"
    broken.write_bytes(PADDED.read_bytes()[:2000])
    code, _, err = await tidings("hash", str(broken), "--frames", check=False)
    assert code == 1 and "video_undecodable" in err

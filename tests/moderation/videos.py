"""Real sample videos (see data/vpdq/README.md) and copies derived from them with PyAV."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

DATA = Path(__file__).parent / "data" / "vpdq"
CHAIR = DATA / "chair-19-sd-bar.mp4"
PADDED = DATA / "test-padded-dimensions.mp4"


def reference_lines(video: Path) -> dict[int, list[str]]:
    """The reference per-frame hashes: frame number -> [frame, quality, hex, seconds]."""
    lines = video.with_suffix(".vpdq.txt").read_text().split()
    return {int(line.split(",")[0]): line.split(",") for line in lines}


def reencode(data: bytes, *, seconds: float | None = None, scale: float = 1.0,
             grey: bool = False, crf: int = 30, codec: str = "libx264",
             container: str = "mp4") -> bytes:
    """A re-encoded copy (another encoder setting, optionally shorter, smaller, grey):
    what an uploader who re-posts a banked clip produces."""
    out = io.BytesIO()
    with av.open(io.BytesIO(data)) as src, av.open(out, "w", format=container) as dst:
        stream = src.streams.video[0]
        rate = stream.average_rate or Fraction(30)
        enc = dst.add_stream(codec, rate=rate)
        enc.width = int(stream.width * scale) // 2 * 2
        enc.height = int(stream.height * scale) // 2 * 2
        enc.pix_fmt = "yuv420p"
        enc.options = {"preset": "ultrafast", "crf": str(crf)} if codec == "libx264" else {}
        for n, frame in enumerate(src.decode(stream)):
            if seconds is not None and n >= seconds * rate:
                break
            if grey:
                plane = frame.to_ndarray(format="gray")
                frame = av.VideoFrame.from_ndarray(np.dstack([plane] * 3), format="rgb24")
            new = frame.reformat(width=enc.width, height=enc.height, format="yuv420p")
            new.pts, new.time_base = n, Fraction(1) / rate
            for packet in enc.encode(new):
                dst.mux(packet)
        for packet in enc.encode():
            dst.mux(packet)
    return out.getvalue()


def noise_video(frames: int, fps: int, width: int = 16, height: int = 16,
                codec: str = "libx264") -> bytes:
    """A synthetic clip for limit tests only (duration, frame size), never for matching."""
    out = io.BytesIO()
    rng = np.random.default_rng(7)
    with av.open(out, "w", format="mp4") as dst:
        enc = dst.add_stream(codec, rate=fps)
        enc.width, enc.height, enc.pix_fmt = width, height, "yuv420p"
        if codec == "libx264":
            enc.options = {"preset": "ultrafast"}
        for n in range(frames):
            pixels = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts, frame.time_base = n, Fraction(1, fps)
            for packet in enc.encode(frame):
                dst.mux(packet)
        for packet in enc.encode():
            dst.mux(packet)
    return out.getvalue()


def real_photo(frame: int = 30, fmt: str = "JPEG", quality: int = 92,
               scale: float = 1.0) -> bytes:
    """A real photograph: one frame of the chair sample video (a camera recording),
    saved as a still with Pillow; ``quality``/``scale`` re-encode it as an uploader who
    reuses a banned channel's avatar would."""
    from PIL import Image

    with av.open(str(CHAIR)) as src:
        for n, decoded in enumerate(src.decode(video=0)):
            if n == frame:
                image: Image.Image = decoded.to_image()
                break
    if scale != 1.0:
        image = image.resize((int(image.width * scale), int(image.height * scale)))
    out = io.BytesIO()
    image.save(out, format=fmt, quality=quality)
    return out.getvalue()

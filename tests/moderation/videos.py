"""Real sample videos (see data/vpdq/README.md) and copies derived from them with PyAV."""

from __future__ import annotations

import io
from collections.abc import Callable
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


Pixels = np.ndarray[tuple[int, int, int], np.dtype[np.uint8]]


def derive(data: bytes, transform: Callable[[Pixels], Pixels], *,
           seconds: float | None = None, crf: int = 28) -> bytes:
    """A copy of a real clip with ``transform`` applied to every frame (RGB in, RGB
    out, any even size), re-encoded with libx264 in MP4."""
    out = io.BytesIO()
    with av.open(io.BytesIO(data)) as src, av.open(out, "w", format="mp4") as dst:
        stream = src.streams.video[0]
        rate = stream.average_rate or Fraction(30)
        enc = None
        for n, frame in enumerate(src.decode(stream)):
            if seconds is not None and n >= seconds * rate:
                break
            pixels = transform(frame.to_ndarray(format="rgb24"))
            if enc is None:
                enc = dst.add_stream("libx264", rate=rate)
                enc.height, enc.width = pixels.shape[0] // 2 * 2, pixels.shape[1] // 2 * 2
                enc.pix_fmt = "yuv420p"
                enc.options = {"preset": "ultrafast", "crf": str(crf)}
            new = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(pixels[:enc.height, :enc.width]), format="rgb24")
            new.pts, new.time_base = n, Fraction(1) / rate
            for packet in enc.encode(new):
                dst.mux(packet)
        assert enc is not None, "no frame decoded"
        for packet in enc.encode():
            dst.mux(packet)
    return out.getvalue()


def letterbox(share: float = 0.12, colour: int = 0) -> Callable[[Pixels], Pixels]:
    """Bars of ``share`` of the height added above and below the picture."""
    def bars(rgb: Pixels) -> Pixels:
        pad = round(rgb.shape[0] * share)
        return np.pad(rgb, ((pad, pad), (0, 0), (0, 0)), constant_values=colour)
    return bars


def widescreen(colour: int = 0) -> Callable[[Pixels], Pixels]:
    """The picture centred in a 16:9 frame (bars left and right of a tall clip)."""
    def bars(rgb: Pixels) -> Pixels:
        h, w = rgb.shape[:2]
        pad = max(0, (h * 16 // 9 - w) // 2)
        return np.pad(rgb, ((0, 0), (pad, pad), (0, 0)), constant_values=colour)
    return bars


def unbarred(box: tuple[int, int, int, int], scale: float = 1.5) -> Callable[[Pixels], Pixels]:
    """The picture without its bars (``box``: x0, y0, x1, y1), enlarged: the HD
    original a barred SD copy was made from."""
    from PIL import Image

    def crop(rgb: Pixels) -> Pixels:
        x0, y0, x1, y1 = box
        inside = Image.fromarray(np.ascontiguousarray(rgb[y0:y1, x0:x1]))
        size = (round(inside.width * scale), round(inside.height * scale))
        return np.asarray(inside.resize(size, Image.Resampling.BICUBIC))
    return crop


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

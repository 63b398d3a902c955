"""PDQ of decoded video frames, and of the frames with the video's bars trimmed.

``vpdq`` decodes; this module hashes what it decoded. Two ways:

* ``full_rgb``: the frame converted to RGB at its own size, as Meta's reference
  hashes it (banking, ``tidings hash --frames``).
* ``reduced_gray``: FFmpeg (libswscale, in C, on the decoder's planes) reduces the
  frame's luma by an integer factor to about ``VPDQ_FAST_SIDE`` pixels a side; PDQ
  runs on that (``pdq_gray``). PDQ reduces every picture to 64x64 itself and its
  cost grows with the pixels it is given (~25 ms for a 1280x720 frame, ~6 ms at
  640x360 on this project's machine), so the publish gate hashes the reduced
  frame. An integer factor keeps PDQ's sampling grid on the frame's own: 1280x720
  reduced to 640x360 hashes ~5 bits from the full frame, to 512x288 ~8 bits.

Bars: letterbox and pillarbox bars (a portrait or 4:3 clip in a 16:9 frame, an SD
copy with black bands) change every frame's hash, so a barred copy of a clip
banked without bars (or the reverse) matches nothing. :func:`bars_box` finds the
picture inside the bars with the image pipeline's own rule
(``pdq_variants.content_box``: rows and columns from each edge within 24 levels of
the edge's colour on >= 97 % of their pixels, at least 30 % of each side kept), on
a few frames of the video, and :func:`trimmed_hashes` hashes every reduced frame
cut to that box. Pure: frames in, hashes out.
"""

from __future__ import annotations

import typing as t
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pdqhash
from PIL import Image

from tidings.moderation.limits import VPDQ_FAST_SIDE, VPDQ_TRIM_SAMPLES
from tidings.moderation.pdq_variants import Box, content_box

Hashed = tuple[str, int]
Pixels = npt.NDArray[np.uint8]


def pdq_rgb(rgb: npt.NDArray[np.uint8]) -> Hashed:
    """(64-hex PDQ, quality) of an (h, w, 3) RGB array."""
    bits, quality = pdqhash.compute(rgb)
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex(), int(quality)


def full_rgb(frame: t.Any) -> Hashed:
    """PDQ of the frame at its own size, as the reference hashes it."""
    return pdq_rgb(frame.to_ndarray(format="rgb24"))


def reduced_size(width: int, height: int, side: int = VPDQ_FAST_SIDE) -> tuple[int, int]:
    """The frame's size divided by the integer factor that brings it to about ``side``
    a side (as photos are reduced: ``pdq_variants.reduce_for_pdq``). An integer factor
    keeps PDQ's sampling grid on the frame's own: 1280x720 reduced to 640x360 hashes
    ~5 bits from the full frame, to 512x288 ~8 bits (and a 1080x1080 clip 3 vs 20)."""
    factor = max(1, max(width, height) // side)
    return max(1, width // factor), max(1, height // factor)


def reduced_gray(frame: t.Any, side: int = VPDQ_FAST_SIDE) -> Pixels:
    """The frame's luma, reduced by FFmpeg (area averaging: a box filter, as for
    photos)."""
    width, height = reduced_size(frame.width, frame.height, side)
    if (width, height) == (frame.width, frame.height):
        same: Pixels = frame.to_ndarray(format="gray")
        return same
    out: Pixels = frame.reformat(width=width, height=height, format="gray",
                                 interpolation="AREA").to_ndarray()
    return out


def pdq_gray(gray: Pixels) -> Hashed:
    """PDQ of a luma plane: the three "channels" are one plane (stride 0), so PDQ's
    0.299R + 0.587G + 0.114B is the plane itself, with no RGB copy made."""
    gray = np.ascontiguousarray(gray)
    h, w = gray.shape
    view = np.lib.stride_tricks.as_strided(gray, (h, w, 3), (gray.strides[0], 1, 0))
    return pdq_rgb(view)


def bars_box(grays: Sequence[Pixels]) -> Box | None:
    """The picture inside a video's bars, in the pixels of its reduced frames, or
    None when it has none.

    ``pdq_variants.content_box`` is run on up to ``VPDQ_TRIM_SAMPLES`` frames spread
    over the video. Bars do not move, but one frame's answer does (a plain carpet or
    wall next to the bar is trimmed too, a dark scene, a subtitle in the bar), and
    PDQ moves 12-24 bits when 4 of 480 columns are cut on each side. So each edge is
    trimmed as far as more than half the frames looked at trim it (a frame with
    nothing to trim counts as trimming nothing), and every frame is cut to that one
    box."""
    if not grays:
        return None
    step = max(1, len(grays) // VPDQ_TRIM_SAMPLES)
    picked = grays[step // 2::step][:VPDQ_TRIM_SAMPLES]
    h, w = grays[0].shape
    boxes = [content_box(Image.fromarray(g).convert("RGB")) or (0, 0, w, h) for g in picked]
    majority = len(picked) // 2  # index of the value more than half the frames reach
    x0 = sorted((b[0] for b in boxes), reverse=True)[majority]
    y0 = sorted((b[1] for b in boxes), reverse=True)[majority]
    x1 = sorted(b[2] for b in boxes)[majority]
    y1 = sorted(b[3] for b in boxes)[majority]
    if (x0, y0, x1, y1) == (0, 0, w, h) or x1 - x0 < 8 or y1 - y0 < 8:
        return None
    return x0, y0, x1, y1


def trimmed_hashes(grays: Sequence[Pixels]) -> list[Hashed] | None:
    """PDQ of every reduced frame cut to the video's ``bars_box``, or None when the
    video has no bars."""
    box = bars_box(grays)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    return [pdq_gray(g[y0:y1, x0:x1]) for g in grays]


__all__ = ["bars_box", "full_rgb", "pdq_gray", "pdq_rgb", "reduced_gray", "reduced_size",
           "trimmed_hashes"]

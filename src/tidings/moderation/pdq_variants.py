"""PDQ variants that survive the edits uploaders make to slip past a hash list (issue 18).

PDQ alone is measured to survive re-encodes, resizes, brightness, contrast, greyscale
and small overlays, and to miss every mirror, 90° rotation, border, letterbox, canvas,
caption bar and one-side crop (docs/matching.md, "Evasions"). Each of those is met on
one side of the match, chosen by what it costs and where it can work:

* **Query side** (what an upload is hashed into; never banked): the eight **dihedral**
  hashes (PDQ computes all eight from one DCT, at the cost of one hash); the picture
  with uniform **borders, letterbox bars and canvases trimmed** (:func:`trim_boxes`:
  up to three candidates, tolerant of noise and re-encoding, and strict where the
  picture's own edge is close to the border's colour), cut from the full-resolution
  pixels (:func:`crop_from`), with its dihedral hashes too; the picture
  without a **caption bar** found at its top or bottom (:func:`caption_cuts`); a
  transparent picture **flattened on white and on black**, as a viewer sees it
  (:func:`flattened`), with the complement of each (alpha carrying a picture shows it
  as a negative on one of the two).
* **Bank side** (banked beside the original when we hold its pixels: ``tidings bank add
  --file``, takedowns): the picture at the working sizes the query variants are
  hashed at (256, 128 and 64 px), its trimmed content, and **one-side crops** of 3 %,
  6 % and 10 % of the width from each side (:func:`bank_hashes`). Partner hashes come
  without pixels, so only the query-side variants apply to them.
* **Both sides**: the picture with each **corner masked** (:func:`corner_masks`), so a
  channel's watermark in a corner is hidden the same way on the upload as on the
  banked picture.

Query variants other than the dihedral ones are hashed from a copy reduced to
``PDQ_VARIANT_SIDE`` pixels a side: PDQ over a 512-px picture costs ~5-12 ms, over a
256-px one ~0.8 ms on the reference machine. Both sides also hash a ``PDQ_TINY_SIDE``
(64-px) copy, the query side with its dihedral forms: at that size PDQ's sampling grid
is the pixel grid, so a mirror or rotation of the picture is exactly a mirror of the
grid, and texture-like photos (whose 512-px hashes move 30-40 bits under a mirror)
match too. Pure: pixels in, hashes out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pdqhash
from PIL import Image

from tidings.moderation.limits import (
    PDQ_CAPTION_MAX_SHARE,
    PDQ_CORNER_MASK,
    PDQ_HASH_MAX_SIDE,
    PDQ_MASK_SIDE,
    PDQ_ONE_SIDE_CROPS,
    PDQ_TINY_SIDE,
    PDQ_TRIM_CANDIDATES,
    PDQ_TRIM_MIN_KEEP,
    PDQ_TRIM_ROW_SHARE,
    PDQ_TRIM_STRICT_MEAN,
    PDQ_TRIM_TOLERANCE,
    PDQ_VARIANT_SIDE,
)

Pixels = npt.NDArray[np.uint8]
Box = tuple[int, int, int, int]

#: pdqhash.compute_dihedral's order (PDQ's reference: original, rotations, flips).
DIHEDRAL_NAMES = ("orig", "rot90", "rot180", "rot270", "flip_x", "flip_y", "flip_diag",
                  "flip_anti")


@dataclass(frozen=True, slots=True)
class PdqVariant:
    """One hash of one variant of a picture; ``name`` says which (stored as the
    signal's source, at most 32 characters)."""

    name: str
    value: str
    quality: int


def _hex(bits: object) -> str:
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


def complement(value: str) -> str:
    """The hash of the negative picture, as PDQ gives it up to ties at the median."""
    return (bytes(b ^ 0xFF for b in bytes.fromhex(value))).hex()


def reduce_to(image: Image.Image, side: int) -> Image.Image:
    """RGB copy at most ``side`` pixels a side (integer box reduction, then a box
    resize for the rest: fast, and area-averaging like PDQ's own filter)."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    factor = max(rgb.width, rgb.height) // side
    if factor >= 2:
        rgb = rgb.reduce(factor)
    if max(rgb.size) > side:
        scale = side / max(rgb.size)
        rgb = rgb.resize((max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale))),
                         Image.Resampling.BOX)
    return rgb


def reduce_for_pdq(image: Image.Image) -> Image.Image:
    """The reduction the stored (bankable) PDQ is taken after: an integer box filter
    to about ``PDQ_HASH_MAX_SIDE`` a side (unchanged since issue 17, so hashes banked
    before stay comparable)."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    factor = max(rgb.width, rgb.height) // PDQ_HASH_MAX_SIDE
    return rgb.reduce(factor) if factor >= 2 else rgb


def pdq_plain(rgb: Image.Image) -> tuple[str, int]:
    bits, quality = pdqhash.compute(np.asarray(rgb))
    return _hex(bits), int(quality)


def pdq_dihedral(rgb: Image.Image) -> list[tuple[str, str, int]]:
    """(name, hash, quality) of the picture and its seven rotations and mirrors."""
    hashes, quality = pdqhash.compute_dihedral(np.asarray(rgb))
    return [(name, _hex(bits), int(quality))
            for name, bits in zip(DIHEDRAL_NAMES, hashes, strict=True)]


def has_alpha(image: Image.Image) -> bool:
    """True when some pixel is not fully opaque."""
    if image.mode not in ("RGBA", "LA", "PA", "RGBa", "La") and not (
            image.mode == "P" and "transparency" in image.info):
        return False
    return bool(np.asarray(image.convert("RGBA").getchannel("A")).min() < 255)


def flattened(image: Image.Image) -> list[tuple[str, Image.Image]]:
    """The picture as a viewer sees it: opaque pictures as they are; a picture with
    transparency composited on white and on black (a viewer's background is one or
    the other), so content hidden in the alpha channel is hashed as it is shown."""
    if not has_alpha(image):
        return [("", image if image.mode == "RGB" else image.convert("RGB"))]
    rgba = image.convert("RGBA")
    out = []
    for name, colour in (("on_white", (255, 255, 255)), ("on_black", (0, 0, 0))):
        background = Image.new("RGBA", rgba.size, (*colour, 255))
        out.append((name, Image.alpha_composite(background, rgba).convert("RGB")))
    return out


def _close(lines: Pixels, colour: Pixels, tolerance: int) -> npt.NDArray[np.bool_]:
    """Per pixel: within ``tolerance`` of ``colour`` on every channel."""
    within: npt.NDArray[np.bool_] = np.all(
        np.abs(lines.astype(np.int16) - colour.astype(np.int16)) <= tolerance, axis=-1)
    return within


def _leading(lines: Pixels, test: Callable[[Pixels], npt.NDArray[np.bool_]],
             chunk: int = 8) -> int:
    """How many leading lines pass ``test`` (which flags each line of a block),
    evaluated a few lines at a time: borders are short, pictures are not."""
    for start in range(0, len(lines), chunk):
        ok = test(lines[start:start + chunk])
        if not ok.all():
            return start + int(np.argmin(ok))
    return len(lines)


def _border_run(lines: Pixels, tolerance: int, share: float) -> int:
    """How many leading lines (rows of an (n, w, 3) array) are 'border': each within
    ``tolerance`` of the first line's median colour on at least ``share`` of pixels.
    Most pictures have no border: the first line decides that alone."""
    edge = np.median(lines[0], axis=0)
    if _close(lines[0], edge, tolerance).mean() < share:
        return 0
    return _leading(lines, lambda block: _close(block, edge, tolerance).mean(axis=1) >= share)


def content_box(rgb: Image.Image, tolerance: int = PDQ_TRIM_TOLERANCE,
                share: float = PDQ_TRIM_ROW_SHARE) -> Box | None:
    """The box left when uniform borders, letterbox bars and a plain canvas are trimmed
    (two passes, for a border around a canvas), or None when nothing is trimmed or
    too little would remain (``PDQ_TRIM_MIN_KEEP`` of each side)."""
    a = np.asarray(rgb)
    h, w = a.shape[:2]
    x0, y0, x1, y1 = 0, 0, w, h
    for _ in range(2):
        if x1 - x0 < 8 or y1 - y0 < 8:
            return None
        part = a[y0:y1, x0:x1]
        top = _border_run(part, tolerance, share)
        bottom = _border_run(part[::-1], tolerance, share)
        left = _border_run(part.transpose(1, 0, 2), tolerance, share)
        right = _border_run(part.transpose(1, 0, 2)[::-1], tolerance, share)
        if not (top or bottom or left or right):
            break
        x0, y0, x1, y1 = x0 + left, y0 + top, x1 - right, y1 - bottom
    if (x0, y0, x1, y1) == (0, 0, w, h):
        return None
    if x1 - x0 < PDQ_TRIM_MIN_KEEP * w or y1 - y0 < PDQ_TRIM_MIN_KEEP * h:
        return None
    return x0, y0, x1, y1


def _bar_depth(rows: Pixels, tolerance: int) -> int:
    """Depth of a caption bar at the start of ``rows``: the edge row must be plain; the
    bar ends after the last plain row (≥ 90 % the bar's colour) within the allowed
    depth, so lines of text inside the bar are crossed."""
    limit = int(len(rows) * PDQ_CAPTION_MAX_SHARE)
    if limit < 2:
        return 0
    edge = np.median(rows[0], axis=0)
    if _close(rows[0], edge, tolerance).mean() < 0.9:
        return 0
    plain = _close(rows[:limit], edge, tolerance).mean(axis=1) >= 0.9
    inked = np.flatnonzero(~plain)
    if len(inked) == 0:  # plain all the way: a border, which content_box trims
        return 0
    last_plain = np.flatnonzero(plain)
    depth = int(last_plain[last_plain > inked[0]].max(initial=-1)) + 1
    return depth if depth > inked[0] else 0


def caption_cuts(rgb: Image.Image, tolerance: int = PDQ_TRIM_TOLERANCE) -> list[tuple[str, Box]]:
    """Boxes without a caption bar (plain band with lines of text) at the top, the
    bottom, or both, as a meme generator adds them."""
    a = np.asarray(rgb)
    h, w = a.shape[:2]
    top = _bar_depth(a, tolerance)
    bottom = _bar_depth(a[::-1], tolerance)
    out = []
    if top:
        out.append(("cut_top", (0, top, w, h)))
    if bottom:
        out.append(("cut_bottom", (0, 0, w, h - bottom)))
    if top and bottom and h - bottom - top > h * PDQ_TRIM_MIN_KEEP:
        out.append(("cut_both", (0, top, w, h - bottom)))
    return out


def strict_box(rgb: Image.Image, tolerance: int = PDQ_TRIM_TOLERANCE,
               share: float = PDQ_TRIM_ROW_SHARE) -> Box | None:
    """The box left when only lines with the **statistics of the edge line** are
    trimmed (one pass): a line is border while it is uniform as :func:`content_box`
    asks and its mean colour stays within ``PDQ_TRIM_STRICT_MEAN`` levels of the edge
    line's and its spread no wider than the edge line's (plus noise). A picture whose
    own edge is close to the border's colour (dark microscopy on a black border) is
    not eaten into: its lines differ in mean or spread even where they pass the
    tolerance."""
    a = np.asarray(rgb)
    h, w = a.shape[:2]
    if h < 8 or w < 8:
        return None
    runs = [_strict_run(lines, tolerance, share) for lines in (
        a.transpose(1, 0, 2), a, a.transpose(1, 0, 2)[::-1], a[::-1])]
    left, top, right, bottom = runs
    x0, y0, x1, y1 = left, top, w - right, h - bottom
    if (x0, y0, x1, y1) == (0, 0, w, h):
        return None
    if x1 - x0 < PDQ_TRIM_MIN_KEEP * w or y1 - y0 < PDQ_TRIM_MIN_KEEP * h:
        return None
    return x0, y0, x1, y1


def _strict_run(lines: Pixels, tolerance: int, share: float) -> int:
    edge = np.median(lines[0], axis=0)
    if _close(lines[0], edge, tolerance).mean() < share:
        return 0
    first = lines[0].astype(np.float32)
    mean, spread = first.mean(axis=0), float(first.std(axis=0).max())

    def border(block: Pixels) -> npt.NDArray[np.bool_]:
        values = block.astype(np.float32)
        same = (np.abs(values.mean(axis=1) - mean).max(axis=-1) <= PDQ_TRIM_STRICT_MEAN) & (
            values.std(axis=1).max(axis=-1) <= spread * 1.5 + PDQ_TRIM_STRICT_MEAN)
        flags: npt.NDArray[np.bool_] = (
            _close(block, edge, tolerance).mean(axis=1) >= share) & same
        return flags

    limit = len(lines) // 2
    run = _leading(lines[:limit], border)
    return run if run < limit else 0


def balanced(box: Box, size: tuple[int, int]) -> Box:
    """``box`` with opposite trims made equal to the smaller of the two where both
    sides were trimmed: letterbox bars and most borders are the same on both sides,
    and the wider trim is the one that ate into a picture whose edge is close to the
    border's colour."""
    w, h = size
    x0, y0, x1, y1 = box
    if x0 and x1 < w:
        x0 = min(x0, w - x1)
        x1 = w - x0
    if y0 and y1 < h:
        y0 = min(y0, h - y1)
        y1 = h - y0
    return x0, y0, x1, y1


def trim_boxes(rgb: Image.Image) -> list[Box]:
    """Candidate content boxes, at most ``PDQ_TRIM_CANDIDATES``: the tolerant trim
    (:func:`content_box`), the strict one (:func:`strict_box`) and the strict one
    :func:`balanced`, each only when it differs from those before by more than two
    pixels."""
    out: list[Box] = []
    strict = strict_box(rgb)
    even = balanced(strict, rgb.size) if strict is not None else None
    for box in (content_box(rgb), strict, even):
        if box is not None and all(max(abs(p - q) for p, q in zip(box, seen, strict=True)) > 2
                                   for seen in out):
            out.append(box)
    return out[:PDQ_TRIM_CANDIDATES]


def _refine(lines: npt.NDArray[np.uint8], edge: float, scale: float, tolerance: int) -> int:
    """Where the border ends in full-resolution ``lines`` (from the picture's edge
    inward), near ``edge`` found on the reduction: the first line after the one at
    ``edge - 1`` (surely border) that is not uniform in that line's level. ``lines``
    are luma, as PDQ reads, and because JPEG keeps luma at full resolution while its
    half-resolution chroma bleeds the picture's colour into the last border line."""
    start = max(0, int((edge - 1) * scale))
    stop = min(len(lines), int((edge + 1) * scale) + 2)
    window = lines[start:stop].astype(np.int16)
    level = float(np.median(window[0]))
    uniform = (np.abs(window - level) <= tolerance).mean(axis=1) >= PDQ_TRIM_ROW_SHARE
    same = np.abs(window.mean(axis=1) - window[0].mean()) <= tolerance / 2
    border = uniform & same
    return start + (int(np.argmin(border)) if not border.all() else len(border))


def crop_from(big: Image.Image, small: Image.Image, box: Box,
              tolerance: int = PDQ_TRIM_TOLERANCE) -> Image.Image:
    """The region ``box`` (found on ``small``, a reduction of ``big``) cut from ``big``'s
    pixels, each trimmed edge placed again on those pixels, and reduced to the working
    size: the same resampling the bank side applied to the picture without its
    border, so text and textures keep their hash."""
    a = np.asarray(big.convert("L"))
    h, w = a.shape
    sx, sy = w / small.width, h / small.height
    x0, y0, x1, y1 = box
    left = _refine(a.T, x0, sx, tolerance) if x0 else 0
    top = _refine(a, y0, sy, tolerance) if y0 else 0
    right = _refine(a.T[::-1], small.width - x1, sx, tolerance) if x1 < small.width else 0
    bottom = _refine(a[::-1], small.height - y1, sy, tolerance) if y1 < small.height else 0
    if w - left - right < 8 or h - top - bottom < 8:
        left, top, right, bottom = (round(x0 * sx), round(y0 * sy),
                                    round((small.width - x1) * sx),
                                    round((small.height - y1) * sy))
    return reduce_to(big.crop((left, top, w - right, h - bottom)), PDQ_VARIANT_SIDE)


def corner_masks(rgb: Image.Image) -> list[tuple[str, Image.Image]]:
    """The picture with each corner (``PDQ_CORNER_MASK`` of the width, and of the
    height) filled with the median colour of the band just outside it: a channel's
    watermark in that corner is gone, and the same mask on the banked picture gives
    the same fill. Hashed on both sides (a row per corner)."""
    a = np.asarray(rgb)
    h, w = a.shape[:2]
    mw, mh = max(2, round(w * PDQ_CORNER_MASK[0])), max(2, round(h * PDQ_CORNER_MASK[1]))
    ring = max(2, mh // 3)
    out = []
    for name, ys, xs in (("mask_tl", slice(0, mh), slice(0, mw)),
                         ("mask_tr", slice(0, mh), slice(w - mw, w)),
                         ("mask_bl", slice(h - mh, h), slice(0, mw)),
                         ("mask_br", slice(h - mh, h), slice(w - mw, w))):
        ry = slice(mh, mh + ring) if ys.start == 0 else slice(h - mh - ring, h - mh)
        rx = slice(mw, mw + ring) if xs.start == 0 else slice(w - mw - ring, w - mw)
        around = np.concatenate([a[ry, xs].reshape(-1, 3), a[ys, rx].reshape(-1, 3)])
        copy = a.copy()
        copy[ys, xs] = np.median(around, axis=0).astype(np.uint8)
        out.append((name, Image.fromarray(copy)))
    return out


def query_hashes(image: Image.Image, reduced: Image.Image | None = None) -> list[PdqVariant]:
    """Every hash an upload is matched by. The first is the plain PDQ of the picture
    (the stored, bankable one); the others are query-only variants. ``reduced``:
    :func:`reduce_for_pdq` of an opaque RGB ``image``, when the caller made it already
    (the upload's thumbnail is taken from it); every variant is hashed from that
    reduction or smaller copies of it, never from the full-resolution pixels."""
    out: list[PdqVariant] = []
    for prefix, rgb in flattened(image):
        tag = f"{prefix}_" if prefix else ""
        opaque_rgb = not prefix and rgb is image
        big = reduced if reduced is not None and opaque_rgb else reduce_for_pdq(rgb)
        for name, value, quality in pdq_dihedral(big):
            out.append(PdqVariant(f"{tag}{name}", value, quality))
            if prefix and name == "orig":
                out.append(PdqVariant(f"{tag}negative", complement(value), quality))
        out.extend(derived_hashes(big, tag))
    return out


def derived_hashes(big: Image.Image, tag: str = "") -> list[PdqVariant]:
    """The query variants of :func:`query_hashes` after the picture's own dihedral
    hashes: from smaller copies, trimmed borders, masked corners and caption cuts of
    ``big`` (its :func:`reduce_for_pdq`). An upload's are computed in a second worker
    process beside the dihedral hashes (``services/hash_workers.py``)."""
    out: list[PdqVariant] = []
    small = reduce_to(big, PDQ_VARIANT_SIDE)
    value, quality = pdq_plain(small)
    out.append(PdqVariant(f"{tag}small", value, quality))
    # At 64 px PDQ's sampling grid is the pixel grid: a mirror or rotation of the
    # picture is exactly a mirror of the grid, so textures survive it too.
    for name, value, quality in pdq_dihedral(reduce_to(small, PDQ_TINY_SIDE)):
        out.append(PdqVariant(f"{tag}tiny_{name}", value, quality))
    for n, box in enumerate(trim_boxes(small)):
        trimmed = crop_from(big, small, box)
        tiny = reduce_to(trimmed, PDQ_TINY_SIDE)
        if n == 0:  # the first candidate with its mirrors (a mirrored, bordered copy)
            for name, value, quality in pdq_dihedral(trimmed):
                out.append(PdqVariant(f"{tag}trim_{name}", value, quality))
            for name, value, quality in pdq_dihedral(tiny):
                out.append(PdqVariant(f"{tag}trim_tiny_{name}", value, quality))
        else:
            out.append(PdqVariant(f"{tag}trim{n}", *pdq_plain(trimmed)))
            out.append(PdqVariant(f"{tag}trim{n}_tiny", *pdq_plain(tiny)))
    for name, masked in corner_masks(reduce_to(small, PDQ_MASK_SIDE)):
        out.append(PdqVariant(f"{tag}{name}", *pdq_plain(masked)))
    for name, cut in caption_cuts(small):
        value, quality = pdq_plain(small.crop(cut))
        out.append(PdqVariant(f"{tag}{name}", value, quality))
    return out


def bank_hashes(image: Image.Image) -> list[PdqVariant]:
    """Hashes banked beside a picture's own PDQ when we hold its pixels: the picture at
    the query variants' working size and half of it, its trimmed content, and one-side
    crops (PDQ survives about 2 % cropped from one side; a copy with 3-10 % cut off one
    side lands within reach of one of these)."""
    out: list[PdqVariant] = []
    for prefix, rgb in flattened(image):
        tag = f"{prefix}_" if prefix else ""
        big = reduce_for_pdq(rgb)
        small = reduce_to(big, PDQ_VARIANT_SIDE)
        box = content_box(small)
        # Cut as the query side cuts (crop_from), so a copy of a picture with plain
        # edges, cropped on one side, is trimmed and resampled as its banked crops were.
        base = crop_from(big, small, box) if box is not None else small
        out.append(PdqVariant(f"{tag}small", *pdq_plain(small)))
        out.append(PdqVariant(f"{tag}tiny", *pdq_plain(reduce_to(small, PDQ_TINY_SIDE))))
        out.append(PdqVariant(f"{tag}half", *pdq_plain(reduce_to(base, PDQ_VARIANT_SIDE // 2))))
        if box is not None:
            out.append(PdqVariant(f"{tag}trim", *pdq_plain(base)))
        for name, masked in corner_masks(reduce_to(small, PDQ_MASK_SIDE)):
            out.append(PdqVariant(f"{tag}{name}", *pdq_plain(masked)))
        w, h = base.size
        for frac in PDQ_ONE_SIDE_CROPS:
            dx = round(w * frac)
            out.append(PdqVariant(f"{tag}left_{frac}", *pdq_plain(base.crop((dx, 0, w, h)))))
            out.append(PdqVariant(f"{tag}right_{frac}",
                                  *pdq_plain(base.crop((0, 0, w - dx, h)))))
    return out

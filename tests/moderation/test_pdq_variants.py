"""The PDQ variants' geometry on a real photo: borders, letterboxes and canvases are
trimmed back to the picture, caption bars are found, transparency is flattened, and a
photo without any of these gets no trimmed or cut variant (nothing to add false
matches with). Recall over many photos: benchmarks/evasion_eval.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

from tidings.moderation import pdq_variants as pv
from tidings.moderation.limits import PDQ_VARIANT_SIDE

PHOTO = Path(__file__).parents[1] / "server" / "data" / "photos" / "chelsea.jpg"


def cat() -> Image.Image:
    with Image.open(PHOTO) as img:
        return img.convert("RGB")


def framed(img: Image.Image, pad: tuple[int, int, int, int], colour: tuple[int, int, int],
           noise: float = 4.0) -> Image.Image:
    left, top, right, bottom = pad
    size = (img.width + left + right, img.height + top + bottom)
    base = np.full((size[1], size[0], 3), colour, dtype=np.float32)
    base += np.random.default_rng(3).normal(0, noise, base.shape)
    out = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    out.paste(img, (left, top))
    return out


def dist(a: str, b: str) -> int:
    x = np.frombuffer(bytes.fromhex(a), np.uint8) ^ np.frombuffer(bytes.fromhex(b), np.uint8)
    return int(np.unpackbits(x).sum())


def test_noisy_border_and_canvas_are_trimmed_to_the_picture() -> None:
    img = cat()
    for pad, colour in [((20, 20, 20, 20), (200, 30, 30)),       # border
                        ((0, 90, 0, 90), (4, 4, 4)),             # letterbox
                        ((60, 10, 25, 70), (240, 240, 240))]:    # off-centre canvas
        copy = framed(img, pad, colour)
        box = pv.content_box(copy)
        assert box is not None, pad
        assert abs(box[0] - pad[0]) <= 2 and abs(box[1] - pad[1]) <= 2, (box, pad)
        assert abs(copy.width - box[2] - pad[2]) <= 2, (box, pad)
        assert abs(copy.height - box[3] - pad[3]) <= 2, (box, pad)


def test_plain_photo_has_no_trim_or_cut() -> None:
    img = cat()
    assert pv.content_box(img) is None
    assert pv.caption_cuts(img) == []
    names = [v.name for v in pv.query_hashes(img)]
    assert names[:8] == list(pv.DIHEDRAL_NAMES)
    assert names[8:] == ["small", *(f"tiny_{n}" for n in pv.DIHEDRAL_NAMES),
                         "mask_tl", "mask_tr", "mask_bl", "mask_br"]


def test_caption_bar_is_cut_off() -> None:
    img = cat()
    bar = 60
    out = Image.new("RGB", (img.width, img.height + bar), (255, 255, 255))
    out.paste(img, (0, 0))
    ImageDraw.Draw(out).text((10, img.height + 15), "ME ON MONDAY", fill=(0, 0, 0),
                             font=ImageFont.load_default(28))
    cuts = dict(pv.caption_cuts(out))
    assert "cut_bottom" in cuts
    assert abs(cuts["cut_bottom"][3] - img.height) <= 2, cuts


def test_mirror_is_found_among_the_dihedral_hashes() -> None:
    img = cat()
    original = pv.query_hashes(img)[0].value
    mirrored = pv.query_hashes(ImageOps.mirror(img))
    assert dist(original, mirrored[0].value) > 31  # PDQ alone misses a mirror
    # The sampling grid is not symmetric, so the mirror's hash is a few bits off.
    assert min(dist(original, v.value) for v in mirrored) <= 16


def test_transparency_is_flattened_on_white_and_black() -> None:
    grey = cat().convert("L")
    hidden = Image.new("RGBA", grey.size, (255, 255, 255, 0))
    hidden.putalpha(grey)
    assert pv.has_alpha(hidden) and not pv.has_alpha(cat())
    names = {v.name for v in pv.query_hashes(hidden)}
    assert {"on_white_orig", "on_black_orig", "on_white_negative"} <= names
    # On black, white pixels with alpha = the picture's luma show the picture itself.
    on_black = next(v for v in pv.query_hashes(hidden) if v.name == "on_black_orig")
    assert dist(on_black.value, pv.query_hashes(grey.convert("RGB"))[0].value) <= 8


def test_bank_side_variants() -> None:
    names = [v.name for v in pv.bank_hashes(cat())]
    assert names == ["small", "tiny", "half", "mask_tl", "mask_tr", "mask_bl", "mask_br",
                     "left_0.03", "right_0.03", "left_0.06", "right_0.06", "left_0.1",
                     "right_0.1"]


def dark_edged() -> Image.Image:
    """The photo with its left and right fifth darkened almost to black, as the dark
    background of a microscopy picture is."""
    a = np.asarray(cat()).astype(np.float32)
    band = a.shape[1] // 5
    a[:, :band] *= 0.06
    a[:, -band:] *= 0.06
    return Image.fromarray(a.astype(np.uint8))


def test_strict_trim_stops_at_a_black_border_around_a_dark_picture() -> None:
    img = dark_edged()
    copy = framed(img, (20, 20, 20, 20), (0, 0, 0), noise=3.0)
    tolerant = pv.content_box(copy)
    assert tolerant is not None and tolerant[0] > 30  # eats into the dark band
    boxes = pv.trim_boxes(copy)
    assert any(abs(b[0] - 20) <= 2 and abs(copy.width - b[2] - 20) <= 2 for b in boxes), boxes
    assert len(boxes) <= 3


def test_trimmed_hash_is_taken_from_the_full_resolution_pixels() -> None:
    img = dark_edged()
    copy = framed(img, (30, 30, 30, 30), (0, 0, 0), noise=3.0)
    small = pv.reduce_to(copy, PDQ_VARIANT_SIDE)
    banked = pv.pdq_plain(pv.reduce_to(img, PDQ_VARIANT_SIDE))[0]
    best = min(dist(banked, pv.pdq_plain(pv.crop_from(copy, small, box))[0])
               for box in pv.trim_boxes(small))
    assert best <= 8


def test_balanced_box_keeps_the_narrower_trim() -> None:
    assert pv.balanced((40, 0, 190, 100), (200, 100)) == (10, 0, 190, 100)
    assert pv.balanced((0, 5, 200, 90), (200, 100)) == (0, 5, 200, 95)
    assert pv.balanced((12, 0, 200, 100), (200, 100)) == (12, 0, 200, 100)


def test_corner_mask_hides_a_watermark() -> None:
    img = pv.reduce_to(cat(), 128)
    marked = img.copy()
    ImageDraw.Draw(marked).rectangle((2, 2, 2 + img.width // 8, 2 + img.width // 25),
                                     fill=(250, 20, 200))
    plain = dict(pv.corner_masks(img))["mask_tl"]
    hidden = dict(pv.corner_masks(marked))["mask_tl"]
    assert dist(pv.pdq_plain(plain)[0], pv.pdq_plain(hidden)[0]) <= 4


def test_a_reduction_made_by_the_cleaning_gives_the_same_hashes() -> None:
    """The upload's cleaning hands its PDQ reduction to the hasher: every variant is
    the same as when the hasher reduces the picture itself."""
    big = cat().resize((1353, 900), Image.Resampling.LANCZOS)
    for img in (big, framed(big, (60, 40, 60, 40), (0, 0, 0))):
        assert pv.query_hashes(img, pv.reduce_for_pdq(img)) == pv.query_hashes(img)

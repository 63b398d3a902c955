"""Synthetic test images (shapes, gradients, text) and their variants."""

import io
import random

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance

SIZE = (320, 240)


def generate(seed: int) -> Image.Image:
    """Random gradient background plus random shapes and a text label."""
    r = random.Random(seed)
    w, h = SIZE
    xs, ys = np.meshgrid(np.linspace(0, 1, w), np.linspace(0, 1, h))
    angle = r.random() * 6.28
    grad = np.cos(angle) * xs + np.sin(angle) * ys
    base = np.stack([255 * (r.random() * 0.5 + 0.5 * grad * r.random()) for _ in range(3)], axis=-1)
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(r.randint(4, 10)):
        x0, y0 = r.randrange(w), r.randrange(h)
        box = (x0, y0, x0 + r.randint(20, w // 2), y0 + r.randint(20, h // 2))
        colour = tuple(r.randrange(256) for _ in range(3))
        kind = r.randrange(3)
        if kind == 0:
            draw.rectangle(box, fill=colour)
        elif kind == 1:
            draw.ellipse(box, fill=colour)
        else:
            draw.polygon([(r.randrange(w), r.randrange(h)) for _ in range(3)], fill=colour)
    draw.text((r.randrange(w // 2), r.randrange(h // 2)), f"TIDINGS {seed}", fill=(0, 0, 0))
    return img


def encode(img: Image.Image, fmt: str = "PNG", **kw: int) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _box(img: Image.Image, side: float) -> Image.Image:
    out = img.copy()
    w, h = img.size
    bw, bh = int(w * side), int(h * side)
    ImageDraw.Draw(out).rectangle((w - bw - 5, h - bh - 5, w - 5, h - 5), fill=(255, 0, 0))
    return out


def _crop(img: Image.Image, per_side: float) -> Image.Image:
    w, h = img.size
    dx, dy = int(w * per_side), int(h * per_side)
    return img.crop((dx, dy, w - dx, h - dy))


def variants(img: Image.Image) -> dict[str, bytes]:
    """The copies an uploader makes. ``crop_5pct`` removes 5% of width and of
    height (2.5% per side); ``overlay_10pct`` is a box 10% of each side;
    ``overlay_10pct_area`` covers 10% of the area (harder, reported only)."""
    w, h = img.size
    return {
        "resize_50": encode(img.resize((w // 2, h // 2))),
        "resize_200": encode(img.resize((w * 2, h * 2))),
        "jpeg_q20": encode(img, "JPEG", quality=20),
        "crop_5pct": encode(_crop(img, 0.025)),
        "brightness_120": encode(ImageEnhance.Brightness(img).enhance(1.2)),
        "overlay_10pct": encode(_box(img, 0.10)),
        "overlay_10pct_area": encode(_box(img, 0.316)),
    }

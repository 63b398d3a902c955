"""The stand-in for known propaganda, drawn at demo time, and the copy an uploader makes.

No real extremist material is shipped or fetched: a distinctive, deterministic
picture (a sunburst with the words DEMO PROPAGANDA STAND-IN) plays its part. Its PDQ
hash goes into the demo bank as a partner's hash list would deliver it: only the
hash, never the picture.
"""

from __future__ import annotations

import io
import math

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from tidings.moderation.signal_types import PdqSignalType

SIZE = (640, 480)
RAYS = 24
COPY_SCALE = 0.45
COPY_JPEG_QUALITY = 70


def stand_in() -> Image.Image:
    w, h = SIZE
    img = Image.new("RGB", SIZE, (20, 20, 20))
    draw = ImageDraw.Draw(img)
    cx, cy, reach = w // 2, h // 2 - 30, 2 * w
    for i in range(RAYS):
        a0 = i * 2 * math.pi / RAYS
        a1 = a0 + math.pi / RAYS
        draw.polygon([(cx, cy), (cx + reach * math.cos(a0), cy + reach * math.sin(a0)),
                      (cx + reach * math.cos(a1), cy + reach * math.sin(a1))],
                     fill=(200, 30, 30))
    draw.ellipse((cx - 90, cy - 90, cx + 90, cy + 90), fill=(240, 220, 40),
                 outline=(0, 0, 0), width=8)
    draw.rectangle((0, h - 110, w, h), fill=(0, 0, 0))
    font = ImageFont.load_default(size=40)
    draw.text((w // 2, h - 75), "DEMO PROPAGANDA", fill=(255, 255, 255), font=font,
              anchor="mm")
    draw.text((w // 2, h - 30), "STAND-IN", fill=(255, 255, 255), font=font, anchor="mm")
    return img


def png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def resized_copy(img: Image.Image) -> bytes:
    """Scaled to 45% and re-encoded as a JPEG: other bytes, the same picture."""
    w, h = img.size
    small = img.resize((int(w * COPY_SCALE), int(h * COPY_SCALE)),
                       Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    small.save(buf, format="JPEG", quality=COPY_JPEG_QUALITY)
    return buf.getvalue()


def pdq(data: bytes) -> str:
    """The PDQ hash the server computes for a photo (hex, 256 bits)."""
    value, _quality = PdqSignalType.hash_with_quality(data)
    return value


def distance(a: str, b: str) -> int:
    """Hamming distance between two PDQ hashes: bits that differ of 256."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def threshold() -> int:
    return PdqSignalType.default_threshold()


def street_photo() -> bytes:
    """An ordinary picture for a channel post (a street at night, drawn): nothing any
    bank knows, so it is published, and a removal must then take it down."""
    w, h = SIZE
    img = Image.new("RGB", SIZE, (10, 14, 40))
    draw = ImageDraw.Draw(img)
    for i in range(h):  # the sky: a gradient
        draw.line((0, i, w, i), fill=(10 + i // 8, 14 + i // 10, 40 + i // 5))
    for x in range(0, w, 80):  # houses with lit windows
        top = 200 + (x * 37) % 90
        draw.rectangle((x + 5, top, x + 75, h), fill=(30, 30, 36))
        for wy in range(top + 15, h - 30, 40):
            for wx in (x + 15, x + 45):
                lit = (wx * 7 + wy * 3) % 5 < 2
                draw.rectangle((wx, wy, wx + 15, wy + 20),
                               fill=(250, 210, 90) if lit else (50, 50, 60))
    draw.ellipse((w - 140, 40, w - 70, 110), fill=(235, 235, 210))  # the moon
    return png(img)


def channel_logo() -> Image.Image:
    """A channel's avatar for the returning-channel step: shapes over a gradient (texture
    enough for a trusted PDQ, not symmetric: PDQ needs that to survive a resize), not the
    banked stand-in."""
    w, h = 320, 320
    img = Image.new("RGB", (w, h))
    pixels = img.load()
    assert pixels is not None
    for x in range(w):
        for y in range(h):
            pixels[x, y] = (x * 255 // w, (x + y) * 127 // w, y * 255 // h)
    draw = ImageDraw.Draw(img)
    draw.ellipse((40, 30, 200, 190), fill=(250, 240, 200))
    draw.polygon([(320, 60), (180, 320), (320, 320)], fill=(20, 40, 30))
    draw.rectangle((20, 220, 140, 270), fill=(240, 90, 20))
    draw.text((w // 2, h - 30), "DAWN FRONT", fill=(0, 0, 0),
              font=ImageFont.load_default(size=34), anchor="mm")
    return img.filter(ImageFilter.GaussianBlur(2))


def reencoded(img: Image.Image) -> bytes:
    """Scaled to 80% and saved as a JPEG: a re-uploaded avatar."""
    small = img.resize((img.width * 4 // 5, img.height * 4 // 5), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    small.save(buf, format="JPEG", quality=80)
    return buf.getvalue()

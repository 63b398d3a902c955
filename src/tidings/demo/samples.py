"""The files the README's tour uses, written to a directory: ``python -m
tidings.demo.samples [DIR]``.

``photo.jpg`` is an ordinary picture to post; ``propaganda.jpg`` is the demo's stand-in
for known propaganda (no real extremist material is shipped, demo/images.py) and
``propaganda-resized.jpg`` the resized, re-encoded copy an uploader makes of it: other
bytes, the same picture to PDQ; ``notes.pdf`` is a small document to send encrypted.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from PIL import Image, ImageDraw

from tidings.demo import images

PHOTO_SIZE = (480, 320)
NOTES_PDF = (b"%PDF-1.4\n1 0 obj <</Type/Catalog/Pages 2 0 R>> endobj\n"
             b"2 0 obj <</Type/Pages/Kids[3 0 R]/Count 1>> endobj\n"
             b"3 0 obj <</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]>> endobj\n"
             b"trailer <</Root 1 0 R>>\n%%EOF\n")
"""A one-page, blank PDF: attachments are end-to-end encrypted, any bytes do."""


def photo() -> bytes:
    """A landscape of stripes and a sun: textured (a PDQ hash needs texture), unbanked."""
    img = Image.new("RGB", PHOTO_SIZE, (120, 180, 230))
    draw = ImageDraw.Draw(img)
    w, h = PHOTO_SIZE
    for i in range(0, h // 2, 12):
        draw.rectangle((0, h // 2 + i, w, h // 2 + i + 6), fill=(40, 130 + i % 90, 60))
    draw.ellipse((w - 140, 30, w - 60, 110), fill=(250, 210, 60))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def write(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    stand_in = images.stand_in()
    original = io.BytesIO()
    stand_in.save(original, format="JPEG", quality=90)
    files = {"photo.jpg": photo(), "propaganda.jpg": original.getvalue(),
             "propaganda-resized.jpg": images.resized_copy(stand_in), "notes.pdf": NOTES_PDF}
    for name, data in files.items():
        (directory / name).write_bytes(data)
    return [directory / name for name in files]


def main() -> None:
    for path in write(Path(sys.argv[1] if len(sys.argv) > 1 else ".")):
        print(path)


if __name__ == "__main__":
    main()

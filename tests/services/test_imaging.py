"""The media pipeline: sniffing, size limits, bombs, metadata stripping, thumbnails."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tidings.moderation.pdq_variants import reduce_for_pdq
from tidings.services.imaging import (
    FILE_MAX_BYTES,
    MAX_IMAGE_PIXELS,
    PHOTO_MAX_BYTES,
    THUMBNAIL_JPEG_QUALITY,
    THUMBNAIL_MAX_SIDE,
    VIDEO_MAX_BYTES,
    ImageError,
    MediaKind,
    MediaTooLargeError,
    check_size,
    process_photo,
    sniff,
    thumbnail_size,
)

CAT = Path(__file__).parents[1] / "server" / "data" / "photos" / "chelsea.jpg"
GPS_IFD = 0x8825
ORIENTATION = 0x0112


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG whose IHDR claims width x height (no real pixel data needed)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 16)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)
            + _png_chunk(b"IEND", b""))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\xff\xd8\xff\xe0" + b"\x00" * 20, MediaKind("photo", "image/jpeg")),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, MediaKind("photo", "image/png")),
        (b"GIF89a" + b"\x00" * 20, MediaKind("photo", "image/gif")),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", MediaKind("photo", "image/webp")),
        (b"\x00\x00\x00\x18ftypisom\x00\x00", MediaKind("video", "video/mp4")),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00", MediaKind("video", "video/quicktime")),
        (b"\x00\x00\x00\x18ftypheic\x00\x00", MediaKind("file", "image/heic")),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x82\x84webm", MediaKind("video", "video/webm")),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x82\x88matroska", MediaKind("video", "video/x-matroska")),
        (b"%PDF-1.7\n", MediaKind("file", "application/pdf")),
        (b"PK\x03\x04rest", MediaKind("file", "application/zip")),
        (b"hello, I am text\n", MediaKind("file", "application/octet-stream")),
        (b"", MediaKind("file", "application/octet-stream")),
    ],
)
def test_sniff_by_magic_bytes(data: bytes, expected: MediaKind) -> None:
    assert sniff(data) == expected


def test_png_named_jpg_is_a_png() -> None:
    # The name is never consulted; the bytes decide.
    upload = {"name": "holiday.jpg", "data": _encode(Image.new("RGB", (4, 4)), "PNG")}
    assert sniff(upload["data"]) == MediaKind("photo", "image/png")  # type: ignore[arg-type]


def test_text_named_png_is_a_file_and_not_a_photo() -> None:
    data = b"definitely not an image\n"
    assert sniff(data).kind == "file"
    with pytest.raises(ImageError) as info:
        process_photo(data)
    assert info.value.code == "image_invalid"


def test_check_size_limits_per_kind() -> None:
    check_size("photo", PHOTO_MAX_BYTES)
    check_size("video", VIDEO_MAX_BYTES)
    check_size("file", FILE_MAX_BYTES)
    for kind, limit in (("photo", PHOTO_MAX_BYTES), ("video", VIDEO_MAX_BYTES),
                        ("file", FILE_MAX_BYTES)):
        with pytest.raises(MediaTooLargeError) as info:
            check_size(kind, limit + 1)  # type: ignore[arg-type]
        assert info.value.code == "media_too_large"
        assert info.value.limit == limit


def test_photo_over_byte_limit() -> None:
    with pytest.raises(MediaTooLargeError):
        process_photo(b"\xff\xd8\xff" + b"\x00" * PHOTO_MAX_BYTES)


def test_exif_gps_is_removed_and_orientation_applied() -> None:
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # rotate 90 degrees clockwise to display
    exif[0x010F] = "SpyCam Inc."  # Make
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)})
    original = _encode(Image.new("RGB", (40, 20), (200, 10, 10)), "JPEG", exif=exif,
                       comment=b"secret comment")
    assert b"SpyCam" in original
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)

    photo = process_photo(original)
    assert photo.media_type == "image/jpeg"
    assert (photo.width, photo.height) == (20, 40)  # orientation 6 applied to the pixels
    cleaned = Image.open(io.BytesIO(photo.data))
    assert cleaned.size == (20, 40)
    assert not cleaned.getexif()
    assert "exif" not in cleaned.info
    assert "comment" not in cleaned.info
    assert b"SpyCam" not in photo.data
    assert b"secret comment" not in photo.data
    assert b"Exif\x00\x00" not in photo.data


def test_png_text_chunks_are_dropped_and_alpha_kept() -> None:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Jane Doe, 12 Secret Street")
    original = _encode(Image.new("RGBA", (30, 30), (0, 0, 255, 128)), "PNG", pnginfo=info)
    photo = process_photo(original)
    assert photo.media_type == "image/png"
    assert b"Secret Street" not in photo.data
    assert Image.open(io.BytesIO(photo.data)).mode == "RGBA"
    assert photo.thumbnail_media_type == "image/png"


def test_thumbnail_fits_in_320_on_the_long_side() -> None:
    photo = process_photo(_encode(Image.new("RGB", (1000, 500), (1, 2, 3)), "JPEG"))
    assert (photo.width, photo.height) == (1000, 500)
    assert (photo.thumbnail_width, photo.thumbnail_height) == (THUMBNAIL_MAX_SIDE, 160)
    thumb = Image.open(io.BytesIO(photo.thumbnail))
    assert thumb.format == "JPEG"
    assert thumb.size == (THUMBNAIL_MAX_SIDE, 160)


def test_small_images_are_not_upscaled_for_thumbnails() -> None:
    photo = process_photo(_encode(Image.new("L", (10, 7)), "PNG"))
    assert (photo.thumbnail_width, photo.thumbnail_height) == (10, 7)
    assert photo.media_type == "image/jpeg"


def test_webp_is_reencoded() -> None:
    photo = process_photo(_encode(Image.new("RGB", (16, 16), (9, 9, 9)), "WEBP"))
    assert photo.media_type == "image/jpeg"


def test_decompression_bomb_refused_from_header() -> None:
    bomb = _bomb_png(50_000, 50_000)
    assert len(bomb) < 100
    assert MAX_IMAGE_PIXELS < 50_000 * 50_000
    with pytest.raises(ImageError) as info:
        process_photo(bomb)
    assert info.value.code == "image_too_large"


def test_just_over_our_limit_but_under_pillows_is_refused() -> None:
    with pytest.raises(ImageError) as info:
        process_photo(_bomb_png(8_000, 5_001))
    assert info.value.code == "image_too_large"


def test_truncated_jpeg_is_invalid() -> None:
    whole = _encode(Image.effect_noise((64, 64), 50).convert("RGB"), "JPEG")
    with pytest.raises(ImageError) as info:
        process_photo(whole[: len(whole) // 2])
    assert info.value.code == "image_invalid"


def test_garbage_after_png_signature_is_invalid() -> None:
    with pytest.raises(ImageError) as info:
        process_photo(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    assert info.value.code == "image_invalid"


def test_animated_gif_stays_animated_without_comment() -> None:
    frames = [Image.new("RGB", (20, 20), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    original = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:],
                       duration=100, loop=0, comment=b"tracking-id-123")
    assert b"tracking-id-123" in original
    photo = process_photo(original)
    assert photo.animated
    assert photo.media_type == "image/gif"
    assert b"tracking-id-123" not in photo.data
    assert getattr(Image.open(io.BytesIO(photo.data)), "n_frames", 1) == 3
    assert photo.thumbnail_media_type in ("image/png", "image/jpeg")


def test_icc_profile_is_kept() -> None:
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    photo = process_photo(_encode(Image.new("RGB", (8, 8)), "JPEG", icc_profile=icc))
    assert Image.open(io.BytesIO(photo.data)).info.get("icc_profile") == icc


@pytest.mark.parametrize("size", [(1155, 866), (866, 1155), (1000, 500), (321, 320),
                                  (4000, 3), (3, 4000), (641, 479), (320, 321)])
def test_thumbnail_size_is_pillows(size: tuple[int, int]) -> None:
    expected = Image.new("L", size)
    expected.thumbnail((THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE))
    assert thumbnail_size(*size) == expected.size


def test_photo_is_reduced_once_for_pdq_and_thumbnail() -> None:
    """An opaque photo's PDQ reduction is kept (the hasher reuses it) and the thumbnail,
    resampled from it, looks like Pillow's own LANCZOS thumbnail of the photo."""
    with Image.open(CAT) as cat:
        picture = cat.convert("RGB").resize((1155, 866), Image.Resampling.LANCZOS)
    photo = process_photo(_encode(picture, "JPEG", quality=95))
    assert photo.pixels is not None and photo.reduced is not None
    assert photo.reduced.tobytes() == reduce_for_pdq(photo.pixels).tobytes()
    reference = photo.pixels.copy()
    reference.thumbnail((THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE), Image.Resampling.LANCZOS)
    thumb = Image.open(io.BytesIO(photo.thumbnail)).convert("RGB")
    assert thumb.size == reference.size == (320, 240)
    # Off Pillow's thumbnail by little more than the JPEG encoding of that thumbnail is.
    encoded = Image.open(io.BytesIO(_encode(reference, "JPEG", quality=THUMBNAIL_JPEG_QUALITY)))

    def off(img: Image.Image) -> float:
        return float(np.abs(np.asarray(img, np.int16) - np.asarray(reference, np.int16)).mean())

    assert off(thumb) < off(encoded) + 0.5


def test_transparent_photo_has_no_shared_reduction() -> None:
    photo = process_photo(_encode(Image.new("RGBA", (900, 700), (0, 0, 255, 128)), "PNG"))
    assert photo.reduced is None
    assert photo.thumbnail_media_type == "image/png"

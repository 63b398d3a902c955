"""Pure media pipeline for public channel posts and avatars: sniff, limit, clean.

Bytes in, values out; no files, sockets or clock. Three rules:

* **Never trust the client's file name or declared type.** :func:`sniff` reads magic
  bytes; a PNG named ``.jpg`` is a PNG, a text file named ``.png`` is a file.
* **Refuse decompression bombs from the header.** Pillow's ``Image.open`` reads only
  the header; we check width x height against MAX_IMAGE_PIXELS *before* any pixel is
  decoded. We never assign ``Image.MAX_IMAGE_PIXELS``: it is process-global, and
  setting it per call would race between threads. Pillow's own check (at its default,
  higher limit) stays as a backstop and maps to the same error.
* **Publish no metadata.** Photos are re-encoded from pixels: EXIF (GPS, camera
  serials), XMP, comments and text chunks are dropped. EXIF orientation is applied to
  the pixels first so the photo still looks the right way up. The ICC colour profile
  is kept when it is at most MAX_ICC_BYTES: it describes colours, not people, and
  dropping it visibly shifts wide-gamut (e.g. Display P3) photos.

Output: JPEG (quality JPEG_QUALITY) or PNG when the image has transparency. An
animated GIF is re-saved frame by frame as GIF (which drops its comments and
application extensions) so it stays animated; other animated formats (WebP, APNG)
keep only their first frame. Every frame of an animation is hashed at upload
(:func:`animation_frames`). The thumbnail of an animated GIF is its most-shown frame.
AVIF (and HEIC/HEIF when the pillow-heif plugin is registered) are photos: decoded and
re-encoded like the others; any other type is a file, served as a download.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from tidings.moderation.pdq_variants import reduce_for_pdq

MiB: Final = 1024 * 1024
PHOTO_MAX_BYTES: Final = 10 * MiB
VIDEO_MAX_BYTES: Final = 200 * MiB
FILE_MAX_BYTES: Final = 100 * MiB
MAX_IMAGE_PIXELS: Final = 40_000_000
MAX_IMAGE_SIDE: Final = 30_000
MAX_GIF_FRAMES: Final = 300
# Total decoded pixels over all frames of an animation we re-encode.
MAX_ANIMATION_PIXELS: Final = 200_000_000
MAX_ICC_BYTES: Final = 64 * 1024
JPEG_QUALITY: Final = 88
THUMBNAIL_MAX_SIDE: Final = 320
THUMBNAIL_JPEG_QUALITY: Final = 80
THUMBNAIL_FILTER: Final = Image.Resampling.BICUBIC
"""What ``Image.thumbnail`` uses by default. LANCZOS differs from it by less than the
thumbnail's own JPEG encoding does (PSNR 42-49 dB between the two on 12 real photos)
and cost 2.4 ms against 1.7 ms for 1 Mpx (577x433 reduction to 320x240), on the
upload's answer path (docs/benchmarks.md, "Image post")."""
SNIFF_WINDOW: Final = 64  # bytes of a Matroska header searched for its DocType

Kind = Literal["photo", "video", "file"]

# Pillow plugin names per sniffed type: Image.open only tries the format we sniffed,
# so a file cannot steer decoding into some rarely used, less hardened plugin.
_PILLOW_FORMATS: Final = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
    "image/avif": "AVIF",
    "image/heic": "HEIF",
    "image/heif": "HEIF",
}
_HEIF_BRANDS: Final = {b"heic": "image/heic", b"heix": "image/heic", b"mif1": "image/heif",
                       b"msf1": "image/heif", b"avif": "image/avif", b"avis": "image/avif"}
#: A frame (or run of identical frames) shown at least this long is never skipped when
#: an animation is hashed: an animation with more such shots than MEDIA_PDQ_FRAMES_MAX
#: is refused rather than sampled.
ANIMATION_MOMENT_MS: Final = 200
#: Frames whose 16x16 grey thumbnails differ by less than this (mean, 0-255) are one
#: shot: hashed once, their display times added.
SHOT_DIFFERENCE: Final = 3.0
DEFAULT_FRAME_MS: Final = 100


def decodable(media_type: str) -> bool:
    """Whether this Pillow decodes the type (AVIF is built into Pillow >= 11.3; HEIC
    and HEIF need the pillow-heif plugin registered): photos; otherwise files."""
    fmt = _PILLOW_FORMATS.get(media_type)
    if fmt is None:
        return False
    if media_type in ("image/avif", "image/heic", "image/heif"):
        try:
            Image.init()
        except Exception:  # noqa: BLE001 - a broken plugin must not stop uploads
            return False
        return fmt in Image.OPEN
    return True


class MediaError(ValueError):
    """Media was refused; ``code`` is the API error code (all map to HTTP 4xx)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ImageError(MediaError):
    """An image could not be accepted: "image_too_large" or "image_invalid"."""


class MediaTooLargeError(MediaError):
    """An upload exceeds its kind's byte limit: "media_too_large"."""

    def __init__(self, kind: Kind, size: int, limit: int) -> None:
        super().__init__("media_too_large", f"{kind} of {size} bytes exceeds {limit} bytes")
        self.kind = kind
        self.size = size
        self.limit = limit


@dataclass(frozen=True)
class MediaKind:
    """What the bytes really are: our kind and the media type we will serve them as."""

    kind: Kind
    media_type: str


@dataclass(frozen=True)
class ProcessedPhoto:
    """A photo cleaned for publication, with its thumbnail."""

    data: bytes = field(repr=False)
    media_type: str
    width: int
    height: int
    thumbnail: bytes = field(repr=False)
    thumbnail_media_type: str
    thumbnail_width: int
    thumbnail_height: int
    animated: bool = False
    pixels: Image.Image | None = field(default=None, repr=False, compare=False)
    """The decoded picture (first frame, orientation applied), kept so the upload is
    hashed (PDQ) without decoding it a second time."""
    reduced: Image.Image | None = field(default=None, repr=False, compare=False)
    """``pixels`` box-reduced to PDQ's working size (``pdq_variants.reduce_for_pdq``)
    when they are opaque RGB: the thumbnail's source, reused by the PDQ hasher."""


def sniff(data: bytes) -> MediaKind:
    """Classify bytes by their magic numbers (file signatures), never by name."""
    if data.startswith(b"\xff\xd8\xff"):
        return MediaKind("photo", "image/jpeg")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return MediaKind("photo", "image/png")
    if data.startswith((b"GIF87a", b"GIF89a")):
        return MediaKind("photo", "image/gif")
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return MediaKind("photo", "image/webp")
    if data[4:8] == b"ftyp":  # ISO base media file format (ISO/IEC 14496-12)
        brand = data[8:12]
        if brand in _HEIF_BRANDS:  # still images: photos when Pillow decodes them
            media_type = _HEIF_BRANDS[brand]
            return MediaKind("photo" if decodable(media_type) else "file", media_type)
        if brand == b"qt  ":
            return MediaKind("video", "video/quicktime")
        return MediaKind("video", "video/mp4")
    if data.startswith(b"\x1a\x45\xdf\xa3"):  # EBML header: Matroska or WebM
        if b"webm" in data[:SNIFF_WINDOW]:
            return MediaKind("video", "video/webm")
        return MediaKind("video", "video/x-matroska")
    if data.startswith(b"%PDF-"):
        return MediaKind("file", "application/pdf")
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return MediaKind("file", "application/zip")
    # Served as a download, never as text/html or text/plain a browser might render.
    return MediaKind("file", "application/octet-stream")


def limit_for(kind: Kind) -> int:
    """The byte limit for an upload of this kind."""
    return {"photo": PHOTO_MAX_BYTES, "video": VIDEO_MAX_BYTES, "file": FILE_MAX_BYTES}[kind]


def check_size(kind: Kind, n: int) -> None:
    """Raise MediaTooLargeError ("media_too_large") if n bytes is over kind's limit."""
    limit = limit_for(kind)
    if n > limit:
        raise MediaTooLargeError(kind, n, limit)


def _check_dimensions(width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise ImageError("image_invalid", f"image has no pixels ({width}x{height})")
    if width * height > MAX_IMAGE_PIXELS or max(width, height) > MAX_IMAGE_SIDE:
        raise ImageError(
            "image_too_large",
            f"image is {width}x{height}; at most {MAX_IMAGE_PIXELS} pixels and "
            f"{MAX_IMAGE_SIDE} pixels a side",
        )


def _open(data: bytes, media_type: str) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data), formats=[_PILLOW_FORMATS[media_type]])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError("image_too_large", f"image is too large: {exc}") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageError("image_invalid", f"not a readable {media_type} image") from exc
    _check_dimensions(*image.size)  # header only: no pixel decoded yet
    return image


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    )


def _icc(image: Image.Image) -> bytes | None:
    profile = image.info.get("icc_profile")
    if isinstance(profile, bytes) and 0 < len(profile) <= MAX_ICC_BYTES:
        return profile
    return None


def _encode_still(image: Image.Image, icc: bytes | None, quality: int,
                  optimize: bool = True) -> tuple[bytes, str]:
    """Encode pixels only: a fresh info dict means no EXIF, XMP or comment rides along.
    ``optimize`` (JPEG: optimal Huffman tables) makes a photo ~8 % smaller and its
    encode ~2x slower: kept for thumbnails (small, served most), off for the photo."""
    out = io.BytesIO()
    if _has_alpha(image):
        clean = image if image.mode == "RGBA" else image.convert("RGBA")
        clean.info = {}
        options: dict[str, object] = {"icc_profile": icc} if icc else {}
        clean.save(out, format="PNG", **options)
        return out.getvalue(), "image/png"
    target = "L" if image.mode in ("1", "L", "I", "I;16", "F") else "RGB"
    # Pixels already in the target mode are not copied: their info dict is emptied
    # instead (the caller has read the ICC profile already).
    clean = image if image.mode == target else image.convert(target)
    clean.info = {}
    options = {"quality": quality, "optimize": optimize}
    if icc:
        options["icc_profile"] = icc
    clean.save(out, format="JPEG", **options)
    return out.getvalue(), "image/jpeg"


def _check_animation(image: Image.Image) -> None:
    """Bound the decode cost of an animation (every frame is decoded to be hashed)."""
    frames = getattr(image, "n_frames", 1)
    width, height = image.size
    if frames > MAX_GIF_FRAMES or frames * width * height > MAX_ANIMATION_PIXELS:
        raise ImageError(
            "image_too_large",
            f"animation has {frames} frames of {width}x{height}; at most {MAX_GIF_FRAMES} "
            f"frames and {MAX_ANIMATION_PIXELS} pixels in all",
        )


def _most_shown(image: Image.Image) -> int:
    """The frame shown longest (the thumbnail moderators and readers see)."""
    best, best_ms = 0, -1
    for n in range(getattr(image, "n_frames", 1)):
        image.seek(n)
        ms = int(image.info.get("duration") or DEFAULT_FRAME_MS)
        if ms > best_ms:
            best, best_ms = n, ms
    return best


def _encode_gif_animation(image: Image.Image) -> bytes:
    _check_animation(image)
    for key in ("comment", "extension", "xmp"):
        image.info.pop(key, None)
    out = io.BytesIO()
    image.save(out, format="GIF", save_all=True, comment=b"")
    return out.getvalue()


def thumbnail_size(width: int, height: int) -> tuple[int, int]:
    """The size ``Image.thumbnail`` gives a ``width`` x ``height`` picture within
    ``THUMBNAIL_MAX_SIDE`` (aspect kept, each side rounded the way that keeps it best)."""
    x = y = THUMBNAIL_MAX_SIDE
    if x >= width and y >= height:
        return width, height
    aspect = width / height

    def nearest(value: float, error: Callable[[int], float]) -> int:
        return max(min(math.floor(value), math.ceil(value), key=error), 1)

    if x / y >= aspect:
        x = nearest(y * aspect, lambda n: abs(aspect - n / y))
    else:
        y = nearest(x / aspect, lambda n: 0 if n == 0 else abs(aspect - x / n))
    return x, y


def _thumbnail(still: Image.Image, reduced: Image.Image | None) -> Image.Image:
    """Thumbnail (``THUMBNAIL_FILTER``) of ``still``, resampled from ``reduced`` (the same picture
    box-reduced by an integer factor, at least the thumbnail's size) when given: the
    filter then reads ~4x fewer pixels, as Pillow's own ``reducing_gap`` does."""
    size = thumbnail_size(still.width, still.height)
    if size == still.size:
        return still.copy()
    big_enough = reduced is not None and reduced.width >= size[0] and reduced.height >= size[1]
    source = reduced if reduced is not None and big_enough else still
    return source.resize(size, THUMBNAIL_FILTER, reducing_gap=2.0)


def process_photo(data: bytes, on_reduced: Callable[[Image.Image], None] | None = None,
                  on_encoded: Callable[[bytes], None] | None = None) -> ProcessedPhoto:
    """Validate, strip metadata from and thumbnail a photo for publication.

    Raises MediaTooLargeError for more than PHOTO_MAX_BYTES, ImageError
    "image_too_large" for too many pixels (checked from the header) and
    "image_invalid" for anything that is not a complete JPEG, PNG, GIF or WebP.

    The picture is decoded once; a still is orientated in place (no copy), and an
    opaque RGB one is box-reduced once to PDQ's working size (``reduce_for_pdq``):
    that copy is the thumbnail's source and, kept as ``ProcessedPhoto.reduced``, the
    PDQ hasher's, so the full-resolution pixels are read by the decoder, the
    re-encoder and that one reduction only. ``on_reduced`` is handed that reduction
    as soon as it exists, before the re-encode (the upload hashes it meanwhile in a
    worker process, ``services/hash_workers.py``); it must not change it.
    ``on_encoded`` is handed the cleaned bytes as soon as they exist, before the
    thumbnail is made (the upload writes them to disk meanwhile).
    """
    check_size("photo", len(data))
    sniffed = sniff(data)
    if sniffed.kind != "photo":
        raise ImageError("image_invalid", f"expected a photo, got {sniffed.media_type}")
    image = _open(data, sniffed.media_type)
    animated = getattr(image, "n_frames", 1) > 1
    reduced: Image.Image | None = None
    try:
        if animated:
            _check_animation(image)
        if animated and sniffed.media_type == "image/gif":
            encoded, media_type = _encode_gif_animation(image), "image/gif"
            image.seek(_most_shown(image))
            still, icc = image.convert("RGBA"), _icc(image)
        elif animated:  # animated WebP/APNG: the still is its first frame
            image.seek(0)
            still, icc = image.convert("RGBA"), _icc(image)
            encoded, media_type = _encode_still(still, icc, JPEG_QUALITY, optimize=False)
        else:
            image.load()
            ImageOps.exif_transpose(image, in_place=True)
            still, icc = image, _icc(image)
            if still.mode == "RGB":  # an animation's still is RGBA: never reduced here
                reduced = reduce_for_pdq(still)
                if on_reduced is not None:
                    on_reduced(reduced)
            encoded, media_type = _encode_still(still, icc, JPEG_QUALITY, optimize=False)
        if on_encoded is not None:
            on_encoded(encoded)
        thumb = _thumbnail(still, reduced)
        thumb_bytes, thumb_type = _encode_still(thumb, icc, THUMBNAIL_JPEG_QUALITY)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError("image_too_large", f"image is too large: {exc}") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError("image_invalid", f"corrupt or truncated image: {exc}") from exc
    finally:
        if animated:  # a still keeps its decoded pixels (they are ``pixels``)
            image.close()
    return ProcessedPhoto(
        data=encoded,
        media_type=media_type,
        width=still.width,
        height=still.height,
        thumbnail=thumb_bytes,
        thumbnail_media_type=thumb_type,
        thumbnail_width=thumb.width,
        thumbnail_height=thumb.height,
        animated=animated,
        pixels=still,
        reduced=reduced,
    )


def _signature(frame: Image.Image) -> Image.Image:
    return frame.convert("L").resize((16, 16), Image.Resampling.BOX)


def animation_frames(data: bytes, max_frames: int) -> Iterator[Image.Image]:
    """One frame of each shot of an animation (a run of near-identical frames), as RGBA,
    for hashing at upload: every shot shown at least ``ANIMATION_MOMENT_MS`` is
    hashed; when there are more than ``max_frames`` shots, the longest-shown ones are,
    and an animation whose skipped shots include one shown that long is refused
    ("image_too_large"). Call only on bytes ``process_photo`` accepted (frame count
    and decoded pixels are bounded there)."""
    sniffed = sniff(data)
    shots: list[tuple[int, Image.Image]] = []  # (shown ms, frame)
    last: np.ndarray | None = None
    with _open(data, sniffed.media_type) as image:
        _check_animation(image)
        for n in range(getattr(image, "n_frames", 1)):
            image.seek(n)
            ms = int(image.info.get("duration") or DEFAULT_FRAME_MS)
            frame = image.convert("RGBA")
            sig = np.asarray(_signature(frame), dtype=np.int16)
            if last is not None and np.abs(sig - last).mean() < SHOT_DIFFERENCE:
                shown, kept = shots[-1]
                shots[-1] = (shown + ms, kept)
            else:
                shots.append((ms, frame))
            last = sig
    order = sorted(range(len(shots)), key=lambda i: -shots[i][0])
    keep, skipped = order[:max_frames], order[max_frames:]
    if any(shots[i][0] >= ANIMATION_MOMENT_MS for i in skipped):
        raise ImageError("image_too_large",
                         f"animation has more than {max_frames} distinct scenes shown for "
                         f"{ANIMATION_MOMENT_MS} ms or more; it cannot be checked")
    for i in sorted(keep):
        yield shots[i][1]


def frame_thumbnail(data: bytes, shot: int, max_frames: int) -> bytes:
    """The thumbnail of one hashed frame of an animation (``shot``: its position among
    the frames :func:`animation_frames` yields), e.g. the frame a bank matched."""
    for n, frame in enumerate(animation_frames(data, max_frames)):
        if n == shot:
            frame.thumbnail((THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE), THUMBNAIL_FILTER)
            return _encode_still(frame, None, THUMBNAIL_JPEG_QUALITY)[0]
    raise ImageError("image_invalid", f"animation has no frame {shot}")

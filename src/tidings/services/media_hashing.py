"""What an upload is hashed into: the photo's signals, computed once (CPU-bound: run
off the event loop). ``photo_signals`` does it all in one thread (what the benchmarks
measure); the upload runs the PDQ part (``pdq_signals``) in a worker process while its
thread re-encodes (``services/hash_workers.py``) and takes the stored bytes' exact
hashes while writing them (``exact_signals``): the same functions, the same signals."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tidings.moderation import media_signals as ms
from tidings.moderation.pdq_variants import PdqVariant
from tidings.protocol import limits
from tidings.services import imaging


def photo_signals(data: bytes, upload_md5: str, upload_sha256: str
                  ) -> tuple[imaging.ProcessedPhoto, tuple[ms.MediaSignal, ...]]:
    """Clean a photo and hash it, decoding it once, in one thread (CPU-bound; what the
    upload computes, which runs the PDQ part beside the blob writes)."""
    photo = imaging.process_photo(data)
    signals = exact_signals(upload_md5, upload_sha256, *ms.digests(photo.data))
    return photo, (*signals, *pdq_signals(photo, data))


def exact_signals(upload_md5: str, upload_sha256: str, stored_md5: str, stored_sha256: str
                  ) -> tuple[ms.MediaSignal, ...]:
    """MD5 and SHA-256 of a photo as uploaded and as stored (the first signals)."""
    return ms.media_signals(ms.PreparedMedia("photo", "", upload_md5, upload_sha256,
                                             stored_md5, stored_sha256), (ms.ExactHasher,))


def pdq_signals(photo: imaging.ProcessedPhoto, data: bytes,
                variants: Sequence[PdqVariant] | None = None) -> tuple[ms.MediaSignal, ...]:
    """PDQ of a cleaned photo with its query variants, and of an animation's frames
    (``data``: the upload, decoded again for those only). CPU-bound (run in a thread)
    unless ``variants``, the query hashes of a still, were computed already."""
    frames = None
    if photo.animated:
        def frames() -> Any:
            return imaging.animation_frames(data, limits.MEDIA_PDQ_FRAMES_MAX)
    prepared = ms.PreparedMedia("photo", photo.media_type, "", "", "", "", photo.pixels,
                                photo.reduced, frames, variants)
    return ms.media_signals(prepared, (ms.PdqHasher,))


def legacy_signals(data: bytes, kind: str, media_type: str) -> tuple[ms.MediaSignal, ...]:
    """Signals of media stored before uploads were hashed (only its stored bytes are
    left, so they stand for the upload too)."""
    md5, sha = ms.digests(data)
    pixels = None
    if kind == "photo":
        try:
            pixels = imaging.process_photo(data).pixels
        except imaging.MediaError:
            pixels = None
    return ms.media_signals(ms.PreparedMedia(kind, media_type, md5, sha, md5, sha, pixels))

"""Media upload (streamed, hashed and checked once) and download (public only once cleared).

Caching: a public answer says ``public, max-age=60, must-revalidate`` with an ETag, so a
browser or CDN asks again within a minute and a removal reaches every cache within that
(docs/operating.md, "A CDN in front of /media"). Nothing that can later be withdrawn is
ever marked ``immutable``. A signed preview answers ``private, no-store``; refusals
(404 never public or unknown, 410 withdrawn or no longer used) say ``no-store`` too.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from tidings.moderation import media_signals as ms
from tidings.protocol import limits
from tidings.protocol.api.channels import Preview as PreviewOut
from tidings.protocol.api.channels import Upload
from tidings.protocol.errors import BadRequest, Gone, NotFound, PayloadTooLarge
from tidings.server.channel_deps import media
from tidings.server.deps import principal
from tidings.server.openapi import binary, raw_upload, typed
from tidings.services.accounts import Principal
from tidings.services.media import Access, MediaService, Preview, descriptor

router = APIRouter(tags=["media"])

PUBLIC_CACHE = f"public, max-age={limits.MEDIA_CACHE_MAX_AGE_S}, must-revalidate"
PRIVATE_CACHE = "private, no-store"


def _preview(svc: MediaService, sha256: str, who: Principal) -> dict[str, Any]:
    url, expires = svc.preview_url(sha256, who.user_id)
    return {"preview_url": url, "preview_expires_at": expires}


UPLOAD_TYPES = ("application/octet-stream", "image/jpeg", "image/png", "video/mp4")
"""Documented; any Content-Type is taken, the bytes say what the upload is."""


@router.post("/api/v1/media", operation_id="upload_media", status_code=201, **typed(Upload),
             openapi_extra=raw_upload(UPLOAD_TYPES, "The file's bytes (at most "
                                      f"{limits.MAX_UPLOAD_BYTES}); its type is sniffed."))
async def upload(request: Request, who: Principal = Depends(principal),
                 svc: MediaService = Depends(media)) -> dict[str, Any]:
    """Upload one file as the raw request body (any Content-Type; the type is sniffed).

    Returns the media id (SHA-256 of the stored bytes) to put in a post, and a signed
    ``preview_url`` (valid ``MEDIA_PREVIEW_TTL_S``): ``url`` answers only once a visible
    post or picture uses the media. Photos are re-encoded without metadata and get a
    thumbnail. A match on a rejecting bank refuses the upload (422 content_rejected);
    ``moderation.state`` is ``held`` when a post using it will wait for review.

    A rule no JSON Schema states: the format is sniffed from the first bytes (JPEG, PNG,
    GIF, WebP, HEIF, MP4/QuickTime, Matroska/WebM...); bytes that begin like an image
    must be an image that decodes, within ``imaging.MAX_IMAGE_PIXELS`` and the other
    limits (else 400 ``image_invalid`` or ``image_too_large``), each kind within its
    size limit (else 413 ``media_too_large``); bytes of no known format are stored as a
    file, served only as a download.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BadRequest("invalid Content-Length", "bad_request")
        if int(declared) > limits.MAX_UPLOAD_BYTES:
            raise PayloadTooLarge(f"uploads are at most {limits.MAX_UPLOAD_BYTES} bytes",
                                  "media_too_large")
    uploaded = await svc.upload(who, request.stream())
    record = uploaded.record
    out = descriptor(record) | _preview(svc, record.sha256, who)
    if record.thumb_sha256:
        out["thumbnail_preview_url"] = svc.preview_url(record.thumb_sha256, who.user_id)[0]
    low = ms.low_texture(uploaded.signals)
    out["moderation"] = {"state": uploaded.state, "low_texture": low,
                         "note": ms.LOW_TEXTURE_NOTE if low else None,
                         "signals": sorted({s.signal_type for s in uploaded.signals})}
    return out


@router.get("/api/v1/media/{sha256}/preview", **typed(PreviewOut))
async def preview(sha256: str, who: Principal = Depends(principal),
                  svc: MediaService = Depends(media)) -> dict[str, Any]:
    """A fresh signed preview URL for media the caller uploaded (404 otherwise)."""
    if sha256 not in await svc.uploaded_by(who.user_id, [sha256]):
        raise NotFound("no such media", "media_not_found")
    return _preview(svc, sha256, who)


@router.get("/media/{sha256}", operation_id="download_media",
            **binary("*/*", "The media's bytes, of its own type (Range: 206)"))
async def download(sha256: str, request: Request,
                   svc: MediaService = Depends(media)) -> Response:
    """Serve a blob while a visible public object uses it (or to its uploader through a
    signed preview URL); supports Range (206/416) and If-None-Match."""
    q = request.query_params
    signed = Preview(q.get("u", ""), q.get("exp", ""), q.get("sig", "")) if "sig" in q else None
    found = await svc.availability(sha256, signed)
    if found.path is None or found.access in (Access.GONE, Access.NOT_FOUND):
        error = (Gone("this media is no longer available", "media_gone")
                 if found.access is Access.GONE else NotFound("no such media",
                                                              "media_not_found"))
        return JSONResponse(error.to_json(), error.status,
                            headers={"cache-control": "no-store"})
    cache = PUBLIC_CACHE if found.access is Access.PUBLIC else PRIVATE_CACHE
    headers = {"etag": f'"{sha256}"', "cache-control": cache,
               "x-content-type-options": "nosniff"}
    etags = [t.strip() for t in request.headers.get("if-none-match", "").split(",")]
    if headers["etag"] in etags or "*" in etags:  # checked after the access rule above
        return Response(status_code=304, headers=headers)
    if found.kind == "file":  # never rendered inline: a download, whatever its bytes are
        headers["content-disposition"] = f'attachment; filename="{sha256[:16]}"'
    return FileResponse(found.path, media_type=found.media_type, headers=headers)

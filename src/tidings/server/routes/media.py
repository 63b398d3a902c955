"""Media upload (streamed) and download (ranges, ETag, immutable caching)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse

from tidings.protocol import limits
from tidings.protocol.errors import BadRequest, NotFound, PayloadTooLarge
from tidings.server.channel_deps import media
from tidings.server.deps import principal
from tidings.services.accounts import Principal
from tidings.services.media import MediaService, descriptor
from tidings.storage.blobs import BlobIdError, check_id

router = APIRouter(tags=["media"])


@router.post("/api/v1/media", status_code=201)
async def upload(request: Request, who: Principal = Depends(principal),
                 svc: MediaService = Depends(media)) -> dict[str, Any]:
    """Upload one file as the raw request body (any Content-Type; the type is sniffed).

    Returns the media id (SHA-256 of the stored bytes) to put in a post. Photos are
    re-encoded without metadata and get a thumbnail.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BadRequest("invalid Content-Length", "bad_request")
        if int(declared) > limits.MAX_UPLOAD_BYTES:
            raise PayloadTooLarge(f"uploads are at most {limits.MAX_UPLOAD_BYTES} bytes",
                                  "media_too_large")
    record = await svc.upload(who, request.stream())
    return descriptor(record)


@router.get("/media/{sha256}")
async def download(sha256: str, svc: MediaService = Depends(media)) -> FileResponse:
    """Serve a blob; supports Range (206/416) and If-None-Match. Never changes."""
    try:
        check_id(sha256)
    except BlobIdError as exc:
        raise NotFound("no such media", "media_not_found") from exc
    served = await svc.served_type(sha256)
    path = svc.blobs.path(sha256)
    if served is None or not path.is_file():
        raise NotFound("no such media", "media_not_found")
    media_type, kind = served
    headers = {"etag": f'"{sha256}"',
               "cache-control": f"public, max-age={limits.MEDIA_CACHE_MAX_AGE_S}, immutable"}
    if kind == "file":  # never rendered inline: a download, whatever its bytes are
        headers["content-disposition"] = f'attachment; filename="{sha256[:16]}"'
    return FileResponse(path, media_type=media_type, headers=headers)

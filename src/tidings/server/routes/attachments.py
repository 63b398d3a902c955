"""Encrypted attachment upload (streamed, size-limited, per-user quota) and download."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse

from tidings.protocol import limits
from tidings.protocol.api.messaging import Attachment
from tidings.protocol.errors import BadRequest, PayloadTooLarge
from tidings.server.deps import principal
from tidings.server.openapi import binary, raw_upload, typed
from tidings.server.state import kernel_of
from tidings.services.accounts import Principal
from tidings.services.attachments import AttachmentService

router = APIRouter(prefix="/api/v1/attachments", tags=["attachments"])


def attachments(request: Request) -> AttachmentService:
    service: AttachmentService = kernel_of(request).attachments
    return service


@router.post("", operation_id="upload_attachment", status_code=201, **typed(Attachment),
             openapi_extra=raw_upload(("application/octet-stream",), "The encrypted blob."))
async def upload(request: Request,
                 expires_in_ms: int | None = Query(None, ge=limits.DISAPPEAR_MIN_MS,
                                                   le=limits.ATTACHMENT_RETENTION_MS),
                 who: Principal = Depends(principal),
                 svc: AttachmentService = Depends(attachments)) -> dict[str, Any]:
    """Store one opaque (client-encrypted) blob from the raw body; returns its SHA-256.

    413 ``attachment_too_large`` beyond ``ATTACHMENT_UPLOAD_MAX_BYTES``, 413
    ``attachment_quota_exceeded`` beyond the per-user ``ATTACHMENT_QUOTA_BYTES``.
    """
    declared = request.headers.get("content-length")
    size = None
    if declared is not None:
        if not declared.isdigit():
            raise BadRequest("invalid Content-Length", "bad_request")
        size = int(declared)
        if size > limits.ATTACHMENT_UPLOAD_MAX_BYTES:
            raise PayloadTooLarge(
                f"attachments are at most {limits.ATTACHMENT_UPLOAD_MAX_BYTES} bytes",
                "attachment_too_large")
    stored = await svc.upload(who, request.stream(), size, expires_in_ms)
    return {"id": stored.sha256, "size": stored.size, "expires_at": stored.expires_at}


@router.get("/{sha256}", operation_id="download_attachment",
            **binary("application/octet-stream", "The opaque (encrypted) blob"))
async def download(sha256: str, _: Principal = Depends(principal),
                   svc: AttachmentService = Depends(attachments)) -> FileResponse:
    """The opaque blob; the recipient verifies both hashes before using it."""
    path = await svc.path(sha256)
    return FileResponse(path, media_type="application/octet-stream",
                        headers={"cache-control": "private, no-store"})

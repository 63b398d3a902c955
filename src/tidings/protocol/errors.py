"""Typed errors with one JSON shape: ``{"error": {"code": ..., "message": ...}}``.

Services raise these; the server maps each to its HTTP status and the client SDK maps
the JSON back to the same classes, so callers on both sides branch on ``code``.
"""

from __future__ import annotations

from typing import Any, ClassVar


class TidingsError(Exception):
    """Base of all errors that reach an API caller."""

    status: ClassVar[int] = 400
    default_code: ClassVar[str] = "bad_request"

    def __init__(self, message: str, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details = details

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return {"error": body}


class BadRequest(TidingsError):
    status = 400
    default_code = "bad_request"


class Unauthorized(TidingsError):
    status = 401
    default_code = "unauthorized"


class Forbidden(TidingsError):
    status = 403
    default_code = "forbidden"


class NotFound(TidingsError):
    status = 404
    default_code = "not_found"


class Conflict(TidingsError):
    status = 409
    default_code = "conflict"


class Gone(TidingsError):
    status = 410
    default_code = "gone"


class RequestTimeout(TidingsError):
    """The client stopped sending its request part-way (slow or stalled body)."""

    status = 408
    default_code = "request_timeout"


class PayloadTooLarge(TidingsError):
    status = 413
    default_code = "payload_too_large"


class Unprocessable(TidingsError):
    status = 422
    default_code = "invalid_request"


class RateLimited(TidingsError):
    status = 429
    default_code = "rate_limited"

    def __init__(self, message: str, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code, retry_after=retry_after)
        self.retry_after = retry_after


class Unavailable(TidingsError):
    status = 503
    default_code = "unavailable"


_BY_STATUS: dict[int, type[TidingsError]] = {
    cls.status: cls
    for cls in (BadRequest, Unauthorized, Forbidden, NotFound, RequestTimeout, Conflict, Gone,
                PayloadTooLarge, Unprocessable, Unavailable)
}


def from_response(status: int, body: Any) -> TidingsError:
    """Rebuild a typed error from an API response (used by the client SDK)."""
    code, message = "http_error", f"HTTP {status}"
    details: dict[str, Any] = {}
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        code = str(err.get("code", code))
        message = str(err.get("message", message))
        if isinstance(err.get("details"), dict):
            details = {str(k): v for k, v in err["details"].items()}
    if status == 429:
        retry = 1
        if isinstance(body, dict):
            details = body.get("error", {}).get("details", {})
            if isinstance(details, dict):
                retry = int(details.get("retry_after", 1))
        return RateLimited(message, retry, code)
    cls = _BY_STATUS.get(status, TidingsError)
    error = cls(message, code)
    error.details = details  # e.g. a rejection's reasons: bank, labels, ground
    if cls is TidingsError:
        error.status = status  # type: ignore[misc]
    return error

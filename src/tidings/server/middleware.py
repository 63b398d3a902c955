"""ASGI middleware (app-first callables): request limits, metrics, security headers."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tidings.protocol import limits
from tidings.protocol.errors import RequestTimeout
from tidings.protocol.request_ids import REQUEST_ID, accepted
from tidings.protocol.stream import json_depth, unsafe_escape
from tidings.server.metrics import Metrics

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
HSTS = b"max-age=31536000"
"""Sent on responses served over HTTPS only (RFC 6797 forbids it over plain HTTP)."""
CSP = (b"default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
       b"script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")

CONTENT_PREFIXES = ("/c/", "/api/v1/channels", "/api/v1/search/", "/api/v1/subscriptions")
"""Routes that show channel content (the public web view, the channel API, search)."""
PUBLIC_CONTENT_CACHE = f"public, max-age={limits.MEDIA_CACHE_MAX_AGE_S}, must-revalidate"


def content_cache(scope: Scope, status: int) -> bytes | None:
    """``Cache-Control`` for a content route's answer that set none itself.

    Removed means gone from caches too: an anonymous 200 may be kept by a browser or
    CDN for at most 60 s (as public media); what a signed-in reader sees (the author's
    tombstone with its notice, a channel admin's held posts), an invite-link page, and
    every error or 404/410 is never stored by anyone."""
    path: str = scope["path"]
    if not path.startswith(CONTENT_PREFIXES):
        return None
    signed_in = _header(scope, b"authorization") is not None
    invited = b"invite=" in scope.get("query_string", b"")
    if signed_in or invited:
        return b"private, no-store"
    if status == 200 and scope.get("method") in ("GET", "HEAD"):
        return PUBLIC_CONTENT_CACHE.encode()
    return b"no-store"


# Paths that stream large bodies enforce their own limits (media uploads).
_UPLOAD_PREFIXES = ("/api/v1/media", "/api/v1/attachments")
# Bank file uploads and imports (non-JSON bodies) are bounded by the route itself
# (limits.BANK_UPLOAD_MAX_BYTES): hash lists are larger than any JSON request.
_BANK_UPLOAD_PREFIX = "/api/v1/banks/"
_BANK_UPLOAD_SUFFIXES = ("/import", "/entries")
# HMA-compatible uploads (multipart files to hash, look up or bank): same bound.
_HMA_UPLOAD_PREFIX = "/hma/"
_HMA_UPLOAD_SUFFIXES = ("/content", "/h/hash", "/m/lookup")


def _route_bounds_body(scope: Scope) -> bool:
    path: str = scope["path"]
    if path.startswith(_UPLOAD_PREFIXES):
        return True
    if (path.startswith(_BANK_UPLOAD_PREFIX) and path.endswith(_BANK_UPLOAD_SUFFIXES)) or (
            path.startswith(_HMA_UPLOAD_PREFIX) and path.endswith(_HMA_UPLOAD_SUFFIXES)):
        ctype = dict(scope.get("headers", [])).get(b"content-type", b"")
        return b"json" not in ctype
    return False


async def _send_error(send: Send, status: int, code: str, message: str,
                      extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode()), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def bad_url(scope: Scope) -> str | None:
    """Why the request's path or query cannot be text, or None if it can.

    Percent-escapes are decoded strictly: invalid UTF-8 (which includes encoded lone
    surrogates) and NUL are refused rather than turned into U+FFFD or passed on to a
    database that rejects them (PostgreSQL text cannot hold NUL).
    """
    for part in (scope.get("raw_path") or scope["path"].encode(), scope["query_string"]):
        raw = unquote_to_bytes(part.replace(b"+", b" "))
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return "the URL is not valid UTF-8"
        if b"\0" in raw:
            return "the URL contains a NUL byte"
    return None


def headers_too_large(scope: Scope) -> bool:
    """True if the request's header names and values exceed MAX_HEADER_BYTES."""
    return sum(len(k) + len(v) for k, v in scope.get("headers", [])) > limits.MAX_HEADER_BYTES


class RequestLimits:
    """Header size, body size and JSON depth, checked before any route sees the request.

    The body is read fully (up to the limit) and replayed to the app, so a route never
    starts work on a request that will turn out too large: nothing is stored half-way.
    """

    def __init__(self, app: ASGIApp, max_body: int = limits.MAX_BODY_BYTES,
                 body_timeout: float = limits.REQUEST_BODY_IDLE_TIMEOUT_S) -> None:
        self.app = app
        self.max_body = max_body
        self.body_timeout = body_timeout

    def _paced(self, receive: Receive) -> Receive:
        """``receive`` that gives up when a body chunk is more than ``body_timeout`` late.

        Raises RequestTimeout (408 in the one error shape) into the route reading the
        stream, whose upload then cleans up like any failed upload. Once the body is
        complete, waiting (for a disconnect) is not limited.
        """
        done = False

        async def paced() -> Message:
            nonlocal done
            if done:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.body_timeout)
            except TimeoutError:
                raise RequestTimeout(
                    f"no request body received for {self.body_timeout:g} s") from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                done = True
            return message

        return paced

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if headers_too_large(scope):
            if scope["type"] == "http":
                await _send_error(send, 431, "headers_too_large",
                                  f"request headers exceed {limits.MAX_HEADER_BYTES} bytes")
            else:
                await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        url_problem = bad_url(scope)
        if url_problem is not None:
            await _send_error(send, 400, "invalid_url", url_problem)
            return
        headers = dict(scope.get("headers", []))
        if headers.get(b"content-length", b"0") != b"0" or b"transfer-encoding" in headers:
            receive = self._paced(receive)  # no body, nothing to wait for: no timer
        if _route_bounds_body(scope):
            await self.app(scope, receive, send)
            return
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_body
            except ValueError:
                await _send_error(send, 400, "bad_request", "invalid Content-Length")
                return
            if too_big:
                await _send_error(send, 413, "payload_too_large",
                                  f"request body exceeds {self.max_body} bytes")
                return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            try:
                message = await receive()
            except RequestTimeout as exc:
                await _send_error(send, 408, exc.code, exc.message,
                                  [(b"connection", b"close")])
                return
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await _send_error(send, 413, "payload_too_large",
                                  f"request body exceeds {self.max_body} bytes")
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        ctype = headers.get(b"content-type", b"")
        if body and b"json" in ctype:
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                await _send_error(send, 400, "invalid_utf8", "request body is not valid UTF-8")
                return
            if json_depth(text) > limits.MAX_JSON_DEPTH:
                await _send_error(send, 400, "json_too_deep",
                                  f"JSON nesting deeper than {limits.MAX_JSON_DEPTH}")
                return
            unsafe = unsafe_escape(text)
            if unsafe is not None:
                await _send_error(send, 400, "invalid_unicode",
                                  f"request body escapes {unsafe}, which no text may hold")
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


access = logging.getLogger("tidings.access")


class MetricsAndHeaders:
    """Counts requests by route template and adds security headers to every response."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = accepted(_header(scope, b"x-request-id"))
        token = REQUEST_ID.set(request_id)  # what this request awaits sees it
        try:
            await self._call(scope, receive, send, request_id)
        finally:
            REQUEST_ID.reset(token)

    async def _call(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        console = scope["path"].startswith("/console")

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                present = {k.lower() for k, _ in headers}
                for key, value in SECURITY_HEADERS:
                    if key not in present:
                        headers.append((key, value))
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", CSP))
                if console and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))  # staff pages, cases
                elif b"cache-control" not in present and (
                        cache := content_cache(scope, status)) is not None:
                    headers.append((b"cache-control", cache))
                if scope.get("scheme") == "https":
                    headers.append((b"strict-transport-security", HSTS))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "GET")
            self.metrics.requests.labels(method, template, str(status)).inc()
            elapsed = time.perf_counter() - start
            self.metrics.latency.labels(method, template).observe(elapsed)
            access.info("%s %s %d %.1f ms", method, scope["path"], status, elapsed * 1000,
                        extra={"method": method, "path": scope["path"], "status": status,
                               "duration_ms": round(elapsed * 1000, 2)})

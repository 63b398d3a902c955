"""How uvicorn serves the app: one configuration for ``tidings serve`` and the tests.

uvicorn guards idle keep-alive connections (``timeout_keep_alive``) but not a request
being received: a client that sends its headers one byte a second (slowloris), or
never finishes them, holds a connection and its buffers forever, and llhttp buffers
headers of any length before the app can answer 431. :class:`GuardedHttpProtocol`
adds both guards at the protocol level, before any ASGI code runs:

* the request line and headers must arrive within ``request_header_timeout_s`` of the
  connection opening (or of the request's first byte); else 408 and close;
* they may be at most ``limits.MAX_REQUEST_HEAD_BYTES``; else 431 and close. The app's
  own ``MAX_HEADER_BYTES`` check (middleware.py) answers smaller excesses normally.

The body's pace is guarded in the ASGI layer (middleware.py, ``request_body_timeout_s``).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from tidings.config import Settings
from tidings.protocol import limits
from tidings.server import logs
from tidings.server.ws_protocol import QuietWebSocketProtocol

LINGER_S = 2.0
"""How long a refused connection is drained before it is closed."""


def _error_bytes(status: int, reason: str, code: str, message: str) -> bytes:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n")
    return head.encode("ascii") + body


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline and a size cap on request heads."""

    header_timeout_s: float = float(limits.REQUEST_HEADER_TIMEOUT_S)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_bytes = 0
        self._refused = False
        self._in_body = False

    def _arm(self) -> None:
        self._disarm()
        self._head_bytes = 0
        self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_timed_out)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _refuse(self, status: int, reason: str, code: str, message: str) -> None:
        """Answer, stop sending, then close after a short linger.

        Closing at once while the client is still sending would make the kernel answer
        its next bytes with a reset, which can destroy our answer before it is read; so
        the write side is shut (the client sees the answer, then EOF), what still
        arrives is read and dropped, and the connection closes when the client closes
        or after ``LINGER_S`` (RFC 9112 section 9.6).
        """
        self._disarm()
        self._refused = True
        if self.transport.is_closing():
            return
        self.transport.write(_error_bytes(status, reason, code, message))
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(LINGER_S, self.transport.close)
        else:
            self.transport.close()

    def eof_received(self) -> None:
        if self._refused:
            self.transport.close()
        super().eof_received()

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._in_body:
            # Answered already (e.g. 413) while the client kept sending the body: the
            # rest did not come in time either; no second answer, just close.
            self._refused = True
            self.transport.close()
            return
        self._refuse(408, "Request Timeout", "request_timeout",
                     f"request headers not received within {self.header_timeout_s:g} s")

    def _over(self, n: int) -> bool:
        self._head_bytes += n
        if self._head_bytes > limits.MAX_REQUEST_HEAD_BYTES and not self._refused:
            self._refuse(431, "Request Header Fields Too Large", "headers_too_large",
                         f"request line and headers exceed {limits.MAX_REQUEST_HEAD_BYTES} "
                         "bytes")
        return self._refused

    def send_400_response(self, msg: str) -> None:
        """Bytes that are not HTTP (bad request line, raw non-ASCII in the path, a bad
        Content-Length) get 400 in the one error shape, not uvicorn's plain text."""
        self._refuse(400, "Bad Request", "bad_http", msg)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._refused:
            super().data_received(data)

    def handle_websocket_upgrade(self) -> None:
        """An Upgrade whose head was refused (431) has no request to upgrade: without
        this, uvicorn logged a traceback for every such request (issue 20)."""
        if not self._refused:
            super().handle_websocket_upgrade()

    def on_url(self, url: bytes) -> None:
        if not self._over(len(url)):
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._over(len(name) + len(value) + 4):
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if not self._refused:
            self._disarm()
            self._in_body = True
            super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        self._in_body = False
        self._disarm()
        if self._refused:
            return
        super().on_message_complete()
        if (self.cycle is not None and self.cycle.response_complete and not self.pipeline
                and not self.transport.is_closing()):
            # Answered before the body ended (413...): uvicorn armed its idle timer at
            # the answer and the body's later bytes cancelled it; without this the now
            # idle connection would be held for ever.
            self._unset_keepalive_if_required()
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler)

    def on_message_begin(self) -> None:
        # The next request's first byte starts its deadline; an idle keep-alive
        # connection before it is uvicorn's timeout_keep_alive's to close.
        if self._head_timer is None and not self._refused:
            self._arm()
        super().on_message_begin()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._in_body and not self.transport.is_closing():
            self._arm()  # answered early (413...): the rest of the body gets a deadline


def protocol_for(settings: Settings) -> type[GuardedHttpProtocol]:
    """The protocol class with this deployment's header deadline."""
    return type("GuardedHttpProtocol", (GuardedHttpProtocol,),
                {"header_timeout_s": float(settings.request_header_timeout_s)})


def uvicorn_config(app: Any, settings: Settings, **overrides: Any) -> uvicorn.Config:
    """The uvicorn configuration ``tidings serve`` runs with; tests override bits."""
    options: dict[str, Any] = {
        "host": settings.host, "port": settings.port, "log_level": settings.log_level,
        "loop": "uvloop", "http": protocol_for(settings), "ws": QuietWebSocketProtocol,
        "ws_ping_interval": limits.WS_PING_INTERVAL_S,
        "ws_ping_timeout": limits.WS_PING_TIMEOUT_S,
        "ws_max_size": limits.WS_MAX_FRAME_BYTES, "proxy_headers": True,
        # permessage-deflate keeps a zlib state per connection (~50 KB measured with
        # tracemalloc) and compresses each frame once per connection, so a channel post
        # would be compressed 10,000 times: off. See docs/benchmarks.md "Channel fan-out".
        "ws_per_message_deflate": False,
        "timeout_keep_alive": limits.HTTP_KEEP_ALIVE_S,
        "timeout_graceful_shutdown": 5,
    }
    if settings.log_format == "json":
        # Tidings formats every line itself (server/logs.py), its own access line
        # included: uvicorn's would have no request id.
        logs.configure("json", settings.log_level)
        options.update(log_config=None, access_log=False)
    options.update(overrides)
    return uvicorn.Config(app, **options)

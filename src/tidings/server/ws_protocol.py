"""uvicorn's sans-I/O WebSocket protocol, made lean enough for 10,000 idle sockets.

The framing, handshake, keepalive pings, close handshake and ASGI events stay
uvicorn's and the ``websockets`` library's (``docs/decisions.md``, "The gateway keeps
uvicorn's WebSocket layer"); what changes is what each open connection keeps. Measured
with ``benchmarks/ws_memory.py`` (tracemalloc, bytes per idle gateway connection):

* the protocol object's ``__dict__``: ~37 attributes, past the 30 a CPython 3.11 dict
  shares its keys for, so ~1.6 KB each; slots instead;
* an ``asyncio.Queue`` for incoming events (three deques, ~2.3 KB) and an
  ``asyncio.Event`` for write flow control (a deque, ~1.5 KB): replaced by
  :class:`_Inbox` and :class:`_Writable`, a list and a future made only while awaited;
* the handshake request's headers, held for the connection's life by the ``websockets``
  parser generator's frame and by ``self.request`` (~2.6 KB): emptied once the ASGI
  scope has its own copy; the handshake response once it is sent.

Also, a text frame that is not UTF-8 is closed with 1007 and one log line, not a
traceback: any client could otherwise fill the log (issue 20).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request


class _Inbox:
    """What uvicorn's protocol uses of ``asyncio.Queue`` (``put_nowait``, ``get``,
    ``empty``) for one consumer, the app's receive call."""

    __slots__ = ("items", "waiter")

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        self.items.append(item)
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def empty(self) -> bool:
        return not self.items

    async def get(self) -> Any:
        while not self.items:
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        return self.items.pop(0)


class _Writable:
    """What uvicorn's protocol uses of ``asyncio.Event`` (``set``, ``clear``, ``wait``)
    for write flow control; the waiters' list exists only while the transport is
    paused and someone writes."""

    __slots__ = ("is_open", "waiters")

    def __init__(self) -> None:
        self.is_open = True
        self.waiters: list[asyncio.Future[None]] | None = None

    def set(self) -> None:
        self.is_open = True
        waiters, self.waiters = self.waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self.is_open = False

    async def wait(self) -> None:
        if self.is_open:
            return
        waiter = asyncio.get_running_loop().create_future()
        if self.waiters is None:
            self.waiters = []
        self.waiters.append(waiter)
        try:
            await waiter
        finally:
            if self.waiters is not None and waiter in self.waiters:
                self.waiters.remove(waiter)


class QuietWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol with slots, a lean inbox and flow flag,
    the handshake forgotten once done, and invalid UTF-8 closed quietly."""

    __slots__ = (
        "app", "app_state", "asgi_version", "client", "close_sent", "close_timeout",
        "close_timer", "config", "conn", "connections", "curr_msg_data_type",
        "default_headers", "disconnected", "frames", "handshake_complete",
        "handshake_initiated", "initial_response", "last_ping_rtt", "logger", "loop",
        "pending_ping_payload", "ping_interval", "ping_sent_at", "ping_timeout",
        "ping_timer", "pong_timer", "queue", "read_paused", "request", "response",
        "root_path", "scheme", "scope", "server", "tasks", "transport", "writable",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = _Inbox()  # type: ignore[assignment]
        self.writable = _Writable()  # type: ignore[assignment]

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        # The scope holds its own copy of the headers now; the parser generator's frame
        # keeps this Request alive for the connection's life, so empty it in place.
        event.headers.clear()
        self.request = None  # type: ignore[assignment]

    def start_keepalive(self) -> None:
        # Called once the 101 response is written: nothing reads it again.
        self.response = None  # type: ignore[assignment]
        super().start_keepalive()

    def send_receive_event_to_app(self) -> None:
        if self.curr_msg_data_type == "text" and not self.close_sent:
            data = self.frames[0] if len(self.frames) == 1 else b"".join(self.frames)
            try:
                data.decode()
            except UnicodeDecodeError:
                self.frames = []
                self.logger.info("WebSocket closed (1007): invalid UTF-8 in a text frame")
                self.conn.send_close(1007)
                self.handle_parser_exception()
                return
        super().send_receive_event_to_app()

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
* a keepalive ``TimerHandle`` per connection (~0.5 KB): one :class:`Keepalive` timer
  per event loop instead, over sets of connections by the tick their ping is due in;
* the handshake request's headers, held for the connection's life by the ``websockets``
  parser generator's frame and by ``self.request`` (~2.6 KB): emptied once the ASGI
  scope has its own copy; the handshake response once it is sent.

Also, a text frame that is not UTF-8 is closed with 1007 and one log line, not a
traceback: any client could otherwise fill the log (issue 20).
"""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState
from websockets.http11 import Request

log = logging.getLogger(__name__)


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


KEEPALIVE_TICK_S = 0.5
"""Keepalive pings are sent on these ticks: at most this much later than uvicorn would."""


class Keepalive:
    """Every connection's next keepalive ping on one event loop, behind one timer.

    uvicorn arms a ``TimerHandle`` per connection for its next ping (~0.5 KB each,
    ``benchmarks/ws_memory.py``); here a connection waits in the set of the tick its ping
    is due in, and one timer a loop walks the due sets while any connection waits.
    """

    __slots__ = ("due", "loop", "timer")

    _by_loop: dict[asyncio.AbstractEventLoop, Keepalive] = {}  # noqa: RUF012 (one per loop)

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.due: dict[int, set[QuietWebSocketProtocol]] = {}
        self.timer: asyncio.TimerHandle | None = None

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop) -> Keepalive:
        keepalive = cls._by_loop.get(loop)
        if keepalive is None:
            keepalive = cls._by_loop[loop] = cls(loop)
        return keepalive

    def add(self, conn: QuietWebSocketProtocol, delay: float) -> int:
        """Ping ``conn`` in ``delay`` seconds (rounded up to a tick); returns its tick."""
        tick = math.ceil((self.loop.time() + delay) / KEEPALIVE_TICK_S)
        self.due.setdefault(tick, set()).add(conn)
        if self.timer is None:
            self.timer = self.loop.call_later(KEEPALIVE_TICK_S, self._fire)
        return tick

    def remove(self, conn: QuietWebSocketProtocol, tick: int) -> None:
        waiting = self.due.get(tick)
        if waiting is not None:
            waiting.discard(conn)
            if not waiting:
                del self.due[tick]

    def _fire(self) -> None:
        now = self.loop.time() / KEEPALIVE_TICK_S
        for tick in [t for t in self.due if t <= now]:
            for conn in self.due.pop(tick):
                conn.ping_due = None
                try:
                    conn.send_keepalive_ping()
                except Exception:  # one broken socket must not stop the others' pings
                    log.exception("keepalive ping failed")
        if self.due:
            self.timer = self.loop.call_later(KEEPALIVE_TICK_S, self._fire)
        else:  # nobody waits: forget this loop (tests run many)
            self.timer = None
            if self._by_loop.get(self.loop) is self:
                del self._by_loop[self.loop]


class QuietWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol with slots, a lean inbox and flow flag,
    the handshake forgotten once done, and invalid UTF-8 closed quietly."""

    __slots__ = (
        "app", "app_state", "asgi_version", "client", "close_sent", "close_timeout",
        "close_timer", "config", "conn", "connections", "curr_msg_data_type",
        "default_headers", "disconnected", "frames", "handshake_complete",
        "handshake_initiated", "initial_response", "last_ping_rtt", "logger", "loop",
        "pending_ping_payload", "ping_due", "ping_interval", "ping_sent_at", "ping_timeout",
        "ping_timer", "pong_timer", "queue", "read_paused", "request", "response",
        "root_path", "scheme", "scope", "server", "tasks", "transport", "writable",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = _Inbox()  # type: ignore[assignment]
        self.writable = _Writable()  # type: ignore[assignment]
        self.ping_due: int | None = None
        """The keepalive tick this connection's next ping waits for (``Keepalive``)."""

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

    async def receive(self) -> Any:
        """uvicorn's ``receive`` with the inbox's wait inlined: one coroutine frame fewer
        held by each idle connection."""
        inbox: _Inbox = self.queue  # type: ignore[assignment]
        while not inbox.items:
            inbox.waiter = self.loop.create_future()
            try:
                await inbox.waiter
            finally:
                inbox.waiter = None
        message = inbox.items.pop(0)
        if self.read_paused and not inbox.items:
            self.read_paused = False
            self.transport.resume_reading()
        return message

    def send_text_now(self, text: str) -> bool:
        """Write one text frame at once when uvicorn's ``send`` would neither wait nor
        refuse (handshake done, no close sent, connected, transport writable); False
        otherwise, and the caller takes the usual ``send``. The gateway writes a live
        event or channel post this way when the connection has nothing queued: no task
        and no coroutine per connection per post (docs/benchmarks.md, "Channel fan-out")."""
        writable: _Writable = self.writable  # type: ignore[assignment]
        if (self.disconnected or self.close_sent or not self.handshake_complete
                or self.initial_response is not None or not writable.is_open
                or self.transport.is_closing()):
            return False
        try:
            self.conn.send_text(text.encode())
        except InvalidState:
            return False
        self.transport.write(b"".join(self.conn.data_to_send()))
        return True

    def schedule_ping(self) -> None:
        assert self.ping_interval is not None
        delay = max(0.0, self.ping_interval - self.last_ping_rtt)
        self.ping_due = Keepalive.of(self.loop).add(self, delay)

    def stop_keepalive(self) -> None:
        super().stop_keepalive()
        if self.ping_due is not None:
            keepalive = Keepalive._by_loop.get(self.loop)
            if keepalive is not None:
                keepalive.remove(self, self.ping_due)
            self.ping_due = None

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

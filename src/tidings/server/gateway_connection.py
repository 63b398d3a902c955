"""One gateway connection's state: its bounded outbox and the callbacks it hands out.

Kept apart from ``server/gateway.py`` (which runs the socket) because this is what each
of 10,000 idle connections keeps in memory: slotted objects and bound methods, no
closures, no task while there is nothing to send (``benchmarks/ws_memory.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from starlette.websockets import WebSocket

from tidings.bus.base import Subscription
from tidings.protocol import limits
from tidings.protocol.control import (
    CatchUp,
    ControlError,
    EndReason,
    EndSession,
    Event,
    Frame,
    JoinChannel,
    LeaveChannel,
    OutboxItem,
    decode_device,
)
from tidings.protocol.stream import Step, next_step
from tidings.server.channel_fanout import Membership
from tidings.server.ws_protocol import QuietWebSocketProtocol
from tidings.services.accounts import Principal

if TYPE_CHECKING:
    from tidings.server.gateway import Gateway

log = logging.getLogger(__name__)


class Outbox:
    """A connection's bounded send queue: a list and a wake-up call, no more.

    asyncio.Queue keeps three deques per instance; with 10,000 idle connections per
    process that difference is measurable, and a single consumer needs none of it.
    No task waits on an empty outbox: ``wake`` (``Connection.wake``) starts a writer task
    when an item arrives and none is running, and the writer ends when the outbox is
    empty again, so an idle connection holds no writer task, coroutine frame or future
    (about 1 KB each connection, ``benchmarks/ws_memory.py``).
    """

    __slots__ = ("ended", "items", "limit", "sent", "slow", "wake")

    def __init__(self, limit: int) -> None:
        self.items: list[OutboxItem] = []
        self.limit = limit
        self.slow = False
        self.sent = 0
        """The stream position the client has been sent up to (the cursor rule's)."""
        self.ended: EndReason | None = None
        """Set when a measure ended the session: sends are refused from then on."""
        self.wake: Callable[[], None] | None = None

    def end(self, reason: EndReason) -> None:
        """End the session ahead of anything queued: the writer's next item is it."""
        if self.ended is None:
            self.ended = reason
            self._wake()

    def _wake(self) -> None:
        if self.wake is not None:
            self.wake()

    def put(self, item: OutboxItem) -> bool:
        """Queue an item; False if full (a client that floods pings loses pongs)."""
        if len(self.items) >= self.limit:
            return False
        self.items.append(item)
        self._wake()
        return True

    def force(self, item: OutboxItem) -> None:
        """Queue a reply to a send even when full: sends in flight are bounded
        (``WS_SEND_INFLIGHT_MAX``), so this stays bounded too, and a committed send's
        answer is never dropped."""
        self.items.append(item)
        self._wake()

    def next(self) -> OutboxItem | None:
        """The next item to send, None when there is nothing to send."""
        if self.ended is not None:
            return EndSession(self.ended)
        return self.items.pop(0) if self.items else None


class Connection:
    """One open socket's state. Its bound methods are the callbacks the bus, the channel
    fan-out and the outbox hold (closures over a coroutine's locals cost a function and
    a cell each, per connection); the semaphore and set for sends exist from the first
    send on, and a finished writer task is let go."""

    __slots__ = ("gateway", "inflight", "interrupted", "membership", "out", "protocol",
                 "reader", "sends", "subscription", "watched", "who", "writer", "ws")

    def __init__(self, gateway: Gateway, ws: WebSocket, who: Principal,
                 reader: asyncio.Task[None]) -> None:
        self.gateway = gateway
        self.ws = ws
        self.who = who
        self.reader = reader
        self.out = Outbox(gateway.send_queue)
        sender = getattr(ws._send, "__self__", None)  # uvicorn's protocol, as ASGI sends
        self.protocol = sender if isinstance(sender, QuietWebSocketProtocol) else None
        """Writes a frame at once when nothing is queued (:meth:`_write_now`)."""
        self.writer: asyncio.Task[None] | None = None
        """The running writer, or the one that failed (the reader re-raises its error)."""
        self.interrupted = False
        self.membership: Membership | None = None
        self.subscription: Subscription | None = None
        self.watched: Subscription | None = None
        self.inflight: asyncio.Semaphore | None = None
        self.sends: set[asyncio.Task[None]] | None = None

    def stop_reader(self) -> None:
        if not self.reader.done():
            self.interrupted = True
            self.reader.cancel()

    def push(self, item: OutboxItem) -> None:
        if self._write_now(item):
            return
        out = self.out
        if out.put(item):
            self.gateway.metrics.ws_send_queue.inc()
        elif not out.slow:  # full: the client is not reading; stop at once
            out.slow = True
            if self.writer is None or not self.writer.cancel():
                self.stop_reader()

    def answer(self, text: str) -> None:
        """Send a send's ``sent`` or ``error`` answer: written at once when nothing is
        queued (no writer task per answer), else queued even past the outbox's limit
        (``Outbox.force``: a committed send's answer is never dropped)."""
        item = Frame(text)
        if not self._write_now(item):
            self.out.force(item)
            self.gateway.metrics.ws_send_queue.inc()

    def _write_now(self, item: OutboxItem) -> bool:
        """Send an event or frame synchronously when the writer would send it next and
        at once: nothing queued, no writer running, the session not ended, and the
        protocol able to write without waiting. The same bytes, in the same order, as
        the writer task (``Gateway.drain``) would send, without a task a post."""
        out = self.out
        protocol = self.protocol
        writer = self.writer
        if (protocol is None or out.items or out.ended is not None or out.wake is None
                or self.interrupted or (writer is not None and not writer.done())):
            return False
        if writer is not None and (writer.cancelled() or writer.exception() is not None):
            return False  # the writer failed: the reader is stopping
        match item:
            case Frame(text):
                return protocol.send_text_now(text)
            case Event(seq, frame):
                step = next_step(out.sent, seq)
                if step is Step.SKIP:
                    return True  # an overlap the writer would drop too
                if step is Step.SEND and protocol.send_text_now(frame):
                    out.sent = seq
                    self.gateway.metrics.events_delivered.inc()
                    return True
        return False

    def on_bus(self, message: bytes) -> None:
        try:
            decoded = decode_device(message)
        except ControlError as exc:
            log.warning("device topic: dropped a bus message: %s", exc)
            return
        match decoded:
            case Event() | CatchUp():
                self.push(decoded)
            case JoinChannel(channel_id):
                if self.membership is not None:
                    self.membership.join(channel_id)
            case LeaveChannel(channel_id):
                if self.membership is not None:
                    self.membership.leave(channel_id)

    def start(self, first: Coroutine[Any, Any, None]) -> None:
        """Run the catch-up writer; from then on each wake-up starts a drain."""
        self._run(first)
        self.out.wake = self.wake

    def _run(self, work: Coroutine[Any, Any, None]) -> None:
        self.writer = asyncio.create_task(work)
        self.writer.add_done_callback(self._writer_done)

    def _writer_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is not None:
            self.stop_reader()
        elif self.writer is task:
            self.writer = None

    def wake(self) -> None:
        writer = self.writer
        if self.interrupted or (writer is not None and (
                not writer.done() or writer.cancelled() or writer.exception() is not None)):
            return  # running, or failed (the reader is stopping)
        self._run(self.gateway.drain(self.ws, self.who, self.out))

    def sending(self) -> tuple[asyncio.Semaphore, set[asyncio.Task[None]]]:
        if self.inflight is None or self.sends is None:
            self.inflight = asyncio.Semaphore(limits.WS_SEND_INFLIGHT_MAX)
            self.sends = set()
        return self.inflight, self.sends

    async def close(self) -> None:
        out = self.out
        out.wake = None
        for task in self.sends or ():
            task.cancel()
        writer = self.writer
        if writer is not None:
            writer.remove_done_callback(self._writer_done)
        for handle in (self.subscription, self.watched, self.membership):
            if handle is not None:
                handle.close()
        self.gateway.metrics.ws_send_queue.dec(len(out.items))
        if writer is not None and not writer.done():
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer

"""The WebSocket gateway: one ordered, resumable event stream per device.

Connections also receive the posts of the channels their user follows
(``server/channel_fanout.py``), as ``{"type": "channel", ...}`` frames.

Private messages may be sent over the same socket (``send`` frames, answered by
``sent`` or ``error`` with the frame's ``ref``). The gateway does not know what a
message is: it hands the parsed frame to the ``on_send`` hook and queues the reply.
Sends run concurrently (at most ``WS_SEND_INFLIGHT_MAX`` per connection; beyond that
the reader stops reading, which is TCP backpressure) so that one connection's sends
share group commits instead of waiting for one fsync each.

A connection authenticates (bearer header, or the token in its hello frame for
browsers), subscribes to its device's bus topic, replays what the store holds after the
client's ``since`` position, says ``live``, then forwards live events. The cursor rule
in ``protocol.stream.next_step`` makes this exact: a missed bus message becomes a store
read, an overlap becomes a skip.

Memory per connection is bounded: live events queue in a bounded queue; when it is
full the client is not keeping up, and it is closed with 4008 (slow consumer). Its
events stay in the store; it resumes from its last position when it reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from tidings.bus.base import Bus
from tidings.protocol import limits
from tidings.protocol.errors import TidingsError
from tidings.protocol.messages import BadSend, SendFrame
from tidings.protocol.stream import (
    CATCH_UP,
    Ack,
    FrameError,
    Hello,
    Ping,
    Step,
    error_frame,
    event_frame,
    live_frame,
    next_step,
    parse_bus,
    parse_client_frame,
)
from tidings.server.channel_fanout import ChannelFanout, Membership
from tidings.server.metrics import Metrics
from tidings.services.accounts import AccountService, Principal
from tidings.services.streams import StreamService, device_topic

log = logging.getLogger(__name__)

SendHook = Callable[[Principal, SendFrame | BadSend], Awaitable[str]]
"""Handles one ``send`` frame and returns the reply frame's JSON text."""


@dataclass
class _Live:
    seq: int
    frame: str


class _Outbox:
    """A connection's bounded send queue: a list and one waiter, no more.

    asyncio.Queue keeps three deques per instance; with 10,000 idle connections per
    process that difference is measurable, and a single consumer needs none of it.
    """

    __slots__ = ("items", "limit", "slow", "waiter")

    def __init__(self, limit: int) -> None:
        self.items: list[_Live | str] = []
        self.limit = limit
        self.slow = False
        self.waiter: asyncio.Future[None] | None = None

    def put(self, item: _Live | str) -> bool:
        """Queue an item; False if full (a client that floods pings loses pongs)."""
        if len(self.items) >= self.limit:
            return False
        self.items.append(item)
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)
        return True

    def force(self, item: _Live | str) -> None:
        """Queue a reply to a send even when full: sends in flight are bounded
        (``WS_SEND_INFLIGHT_MAX``), so this stays bounded too, and a committed send's
        answer is never dropped."""
        self.items.append(item)
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def get(self) -> _Live | str:
        while not self.items:
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        return self.items.pop(0)


class _Close(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Gateway:
    def __init__(self, accounts: AccountService, streams: StreamService, bus: Bus,
                 metrics: Metrics, send_queue: int = limits.WS_SEND_QUEUE_MAX,
                 on_send: SendHook | None = None,
                 channels: ChannelFanout | None = None,
                 channel_ids: Callable[[int], Awaitable[list[int]]] | None = None) -> None:
        self.accounts = accounts
        self.channels = channels
        self.channel_ids = channel_ids
        self.streams = streams
        self.bus = bus
        self.metrics = metrics
        self.send_queue = send_queue
        self.on_send = on_send
        self.connections = 0

    async def handle(self, ws: WebSocket) -> None:
        await ws.accept()
        _release_handshake(ws)
        self.connections += 1
        self.metrics.ws_connections.inc()
        try:
            await self._run(ws)
        except _Close as close:
            await _close(ws, close.code, close.reason)
        except WebSocketDisconnect:
            pass
        finally:
            self.connections -= 1
            self.metrics.ws_connections.dec()

    async def _authenticate(self, ws: WebSocket) -> tuple[Principal, int]:
        header = ws.headers.get("authorization", "")
        try:
            text = await asyncio.wait_for(ws.receive_text(), limits.WS_HELLO_TIMEOUT_S)
        except TimeoutError as exc:
            raise _Close(limits.WS_CLOSE_UNAUTHORIZED, "no hello") from exc
        except KeyError as exc:  # a binary frame where text was expected
            raise _Close(limits.WS_CLOSE_BAD_FRAME, "frames are JSON text") from exc
        try:
            frame = parse_client_frame(text)
        except FrameError as exc:
            raise _Close(limits.WS_CLOSE_BAD_FRAME, str(exc)) from exc
        if not isinstance(frame, Hello):
            raise _Close(limits.WS_CLOSE_BAD_FRAME, "the first frame must be hello")
        token = frame.token
        if header.lower().startswith("bearer "):
            token = header[7:].strip()
        if not token:
            raise _Close(limits.WS_CLOSE_UNAUTHORIZED, "missing token")
        try:
            who = await self.accounts.authenticate(token)
        except TidingsError as exc:
            raise _Close(limits.WS_CLOSE_UNAUTHORIZED, exc.code) from exc
        return who, frame.since

    async def _run(self, ws: WebSocket) -> None:
        who, since = await self._authenticate(ws)
        out = _Outbox(self.send_queue)
        me = asyncio.current_task()
        assert me is not None
        writer: asyncio.Task[None] | None = None

        def push(item: _Live | str) -> None:
            if out.put(item):
                self.metrics.ws_send_queue.inc()
            elif not out.slow:  # full: the client is not reading; stop at once
                out.slow = True
                if writer is not None:
                    writer.cancel()

        membership: Membership | None = None

        def on_bus(message: bytes) -> None:
            parsed = parse_bus(message)
            if parsed.seq is not None:
                push(_Live(parsed.seq, parsed.payload))
            elif membership is None or not membership.control(parsed.payload):
                push(parsed.payload)

        subscription = self.bus.subscribe(device_topic(who.device_id), on_bus)
        if self.channels is not None and self.channel_ids is not None:
            # Channel frames carry their channel's own seq; a gap is filled over HTTP
            # from /channels/{handle}/updates?since=N, so ordering here is best effort.
            membership = self.channels.attach(await self.channel_ids(who.user_id), push)
        # Two coroutines per connection, not three tasks: the reader runs in this task
        # and the writer in one more; whichever ends first stops the other. (Memory per
        # idle connection is what limits how many one process holds; see benchmarks.)
        interrupted = False

        def stop_reader(_: asyncio.Task[None]) -> None:
            nonlocal interrupted
            if not me.done():
                interrupted = True
                me.cancel()

        writer = asyncio.create_task(self._writer(ws, who, since, out))
        writer.add_done_callback(stop_reader)
        try:
            await self._reader(ws, who, out)
        except asyncio.CancelledError:
            if not interrupted:
                raise
            me.uncancel()
            if out.slow:
                self.metrics.ws_slow_closed.inc()
                raise _Close(limits.WS_CLOSE_SLOW_CONSUMER, "slow consumer") from None
            writer.result()  # re-raise the writer's _Close / disconnect
        finally:
            writer.remove_done_callback(stop_reader)
            subscription.close()
            if membership is not None:
                membership.close()
            self.metrics.ws_send_queue.dec(len(out.items))
            if not writer.done():
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await writer

    async def _catch_up(self, ws: WebSocket, device_id: str, sent: int) -> int:
        while True:
            events = await self.streams.read(device_id, sent, limits.WS_REPLAY_BATCH)
            for e in events:
                await ws.send_text(event_frame(e.seq, e.kind, e.created_at, e.body))
                sent = e.seq
            self.metrics.events_delivered.inc(len(events))
            if len(events) < limits.WS_REPLAY_BATCH:
                return sent

    async def _writer(self, ws: WebSocket, who: Principal, since: int,
                      out: _Outbox) -> None:
        head = await self.streams.head(who.device_id)
        sent = min(since, head)
        sent = await self._catch_up(ws, who.device_id, sent)
        await ws.send_text(live_frame(sent))
        while True:
            item = await out.get()
            self.metrics.ws_send_queue.dec()
            if isinstance(item, str):
                if item.startswith("{"):
                    await ws.send_text(item)  # a reply from the reader: one writer per socket
                elif item == "revoked":
                    raise _Close(limits.WS_CLOSE_REVOKED, "device logged out")
                elif item == CATCH_UP:
                    sent = await self._catch_up(ws, who.device_id, sent)
                continue
            step = next_step(sent, item.seq)
            if step is Step.SEND:
                await ws.send_text(item.frame)
                self.metrics.events_delivered.inc()
                sent = item.seq
            elif step is Step.CATCH_UP:
                sent = await self._catch_up(ws, who.device_id, sent)

    async def _reader(self, ws: WebSocket, who: Principal, out: _Outbox) -> None:
        inflight = asyncio.Semaphore(limits.WS_SEND_INFLIGHT_MAX)
        sends: set[asyncio.Task[None]] = set()
        try:
            await self._read_frames(ws, who, out, inflight, sends)
        finally:
            for task in sends:
                task.cancel()

    async def _read_frames(self, ws: WebSocket, who: Principal, out: _Outbox,
                           inflight: asyncio.Semaphore, sends: set[asyncio.Task[None]]) -> None:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))
            text = message.get("text")
            if text is None:
                raise _Close(limits.WS_CLOSE_BAD_FRAME, "frames are JSON text")
            try:
                frame = parse_client_frame(text)
            except FrameError as exc:
                out.put(error_frame(exc.code, str(exc)))
                continue
            if isinstance(frame, Ack):
                await self.streams.ack(who.device_id, frame.upto)
            elif isinstance(frame, Ping):
                out.put('{"type":"pong"}')
            elif isinstance(frame, Hello):
                out.put(error_frame("bad_frame", "hello was already said"))
            elif self.on_send is None:
                out.put(error_frame("bad_frame", "this server does not accept sends"))
            else:
                await inflight.acquire()
                task = asyncio.create_task(self._send(who, frame, out, inflight, self.on_send))
                sends.add(task)
                task.add_done_callback(sends.discard)

    async def _send(self, who: Principal, frame: SendFrame | BadSend, out: _Outbox,
                    inflight: asyncio.Semaphore, hook: SendHook) -> None:
        try:
            out.force(await hook(who, frame))
            self.metrics.ws_send_queue.inc()
        except Exception:  # a failed send must not kill the connection; the client retries
            log.exception("send over WebSocket failed")
        finally:
            inflight.release()


def _release_handshake(ws: WebSocket) -> None:
    """Let the server forget the handshake once the connection is open.

    uvicorn's websockets-sansio protocol keeps the handshake request and response
    (their header objects: about 4 KB per connection, measured with tracemalloc) for
    the connection's whole life, though nothing reads them after accept. Guarded:
    with another server or a newer uvicorn this quietly does nothing.
    """
    owner = getattr(getattr(ws, "_receive", None), "__self__", None)
    if owner is None or not getattr(owner, "handshake_complete", False):
        return
    for name in ("request", "response"):
        if hasattr(owner, name):
            setattr(owner, name, None)


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    if ws.application_state == WebSocketState.DISCONNECTED:
        return
    with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
        await asyncio.wait_for(ws.close(code, reason), timeout=2)


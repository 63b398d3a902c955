"""The WebSocket gateway: one ordered, resumable event stream per device.

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
from dataclasses import dataclass

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from tidings.bus.base import Bus
from tidings.protocol import limits
from tidings.protocol.errors import TidingsError
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
from tidings.server.metrics import Metrics
from tidings.services.accounts import AccountService, Principal
from tidings.services.streams import StreamService, device_topic

log = logging.getLogger(__name__)


@dataclass
class _Live:
    seq: int
    frame: str


class _Close(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Gateway:
    def __init__(self, accounts: AccountService, streams: StreamService, bus: Bus,
                 metrics: Metrics, send_queue: int = limits.WS_SEND_QUEUE_MAX) -> None:
        self.accounts = accounts
        self.streams = streams
        self.bus = bus
        self.metrics = metrics
        self.send_queue = send_queue
        self.connections = 0

    async def handle(self, ws: WebSocket) -> None:
        await ws.accept()
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
        queue: asyncio.Queue[_Live | str] = asyncio.Queue(self.send_queue)
        overflow = asyncio.Event()

        def on_bus(message: bytes) -> None:
            parsed = parse_bus(message)
            item: _Live | str = (parsed.payload if parsed.seq is None
                                 else _Live(parsed.seq, parsed.payload))
            try:
                queue.put_nowait(item)
                self.metrics.ws_send_queue.inc()
            except asyncio.QueueFull:
                overflow.set()

        subscription = self.bus.subscribe(device_topic(who.device_id), on_bus)
        writer = asyncio.create_task(self._writer(ws, who, since, queue))
        reader = asyncio.create_task(self._reader(ws, who, queue))
        watchdog = asyncio.create_task(overflow.wait())
        try:
            done, _ = await asyncio.wait({writer, reader, watchdog},
                                         return_when=asyncio.FIRST_COMPLETED)
            if watchdog in done:
                self.metrics.ws_slow_closed.inc()
                raise _Close(limits.WS_CLOSE_SLOW_CONSUMER, "slow consumer")
            for task in done:
                task.result()  # re-raise _Close / disconnects
        finally:
            subscription.close()
            self.metrics.ws_send_queue.dec(queue.qsize())
            for task in (writer, reader, watchdog):
                task.cancel()
            for task in (writer, reader, watchdog):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

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
                      queue: asyncio.Queue[_Live | str]) -> None:
        head = await self.streams.head(who.device_id)
        sent = min(since, head)
        sent = await self._catch_up(ws, who.device_id, sent)
        await ws.send_text(live_frame(sent))
        while True:
            item = await queue.get()
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

    async def _reader(self, ws: WebSocket, who: Principal,
                      queue: asyncio.Queue[_Live | str]) -> None:
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
                _reply(queue, error_frame(exc.code, str(exc)))
                continue
            if isinstance(frame, Ack):
                await self.streams.ack(who.device_id, frame.upto)
            elif isinstance(frame, Ping):
                _reply(queue, '{"type":"pong"}')
            elif isinstance(frame, Hello):
                _reply(queue, error_frame("bad_frame", "hello was already said"))


def _reply(queue: asyncio.Queue[_Live | str], frame: str) -> None:
    with contextlib.suppress(asyncio.QueueFull):  # a client that floods pings loses pongs
        queue.put_nowait(frame)


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    if ws.application_state == WebSocketState.DISCONNECTED:
        return
    with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
        await asyncio.wait_for(ws.close(code, reason), timeout=2)

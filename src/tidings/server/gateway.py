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

A measure that ends the session (suspension, password reset, device removal, logout)
reaches the connection through ``SessionWatch`` (``server/sessions.py``): from then on
its sends are refused, and its writer closes it with 4003 and the reason, ahead of
anything still queued.

One access token holds at most ``ws_connections_per_token`` sockets on a process at
once (default 5); the next is closed with 4029 right after its hello, so a leaked or
scripted token cannot pin a process's memory with thousands of idle sockets.

What the bus and the outbox carry is typed (``protocol/control.py``): the writer matches
on ``Event``, ``Frame``, ``CatchUp`` and ``EndSession``, never on string prefixes.

A live event, channel post or a send's answer is written at once when the connection
has nothing queued and its transport is writable (``Connection._write_now`` in
``server/gateway_connection.py``); otherwise it queues for the writer task.

Memory per connection is bounded: live events queue in a bounded queue; when it is
full the client is not keeping up, and it is closed with 4008 (slow consumer). Its
events stay in the store; it resumes from its last position when it reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from tidings.bus.base import Bus
from tidings.protocol import limits
from tidings.protocol.control import (
    CatchUp,
    EndSession,
    Event,
    Frame,
    event_frame,
)
from tidings.protocol.errors import TidingsError
from tidings.protocol.messages import BadSend, SendFrame
from tidings.protocol.stream import (
    PONG,
    Ack,
    FrameError,
    Hello,
    Ping,
    Step,
    error_frame,
    live_frame,
    next_step,
    parse_client_frame,
)
from tidings.server.channel_fanout import ChannelFanout
from tidings.server.gateway_connection import Connection, Outbox
from tidings.server.metrics import Metrics
from tidings.server.sessions import SessionWatch
from tidings.services.accounts import AccountService, Principal
from tidings.services.live import device_topic
from tidings.services.streams import StreamService

log = logging.getLogger(__name__)

SendHook = Callable[[Principal, SendFrame | BadSend], Awaitable[str]]
"""Handles one ``send`` frame and returns the reply frame's JSON text."""


PONG_FRAME = Frame(PONG)


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
                 channel_ids: Callable[[int], Awaitable[list[int]]] | None = None,
                 sessions: SessionWatch | None = None,
                 per_token_max: int = limits.WS_CONNECTIONS_PER_TOKEN) -> None:
        self.accounts = accounts
        self.per_token_max = per_token_max
        self.per_token: dict[str, int] = {}
        """Open sockets by device (one token per device) on this process: each process
        guards its own memory, so the cap is per process (docs/operating.md)."""
        self.sessions = sessions
        self.channels = channels
        self.channel_ids = channel_ids
        self.streams = streams
        self.bus = bus
        self.metrics = metrics
        self.send_queue = send_queue
        self.on_send = on_send
        self.connections = 0

    async def handle(self, ws: WebSocket) -> None:
        # Authentication and the per-token count run here, not in a coroutine of their
        # own: each nested coroutine is a frame that every idle connection keeps.
        await ws.accept()
        header = ws.headers.get("authorization", "")
        _release_scope(ws)
        self.connections += 1
        self.metrics.ws_connections.inc()
        try:
            who, since = await self._authenticate(ws, header)
            held = self.per_token.get(who.device_id, 0)
            if held >= self.per_token_max:
                raise _Close(limits.WS_CLOSE_TOO_MANY, f"this access token already holds "
                             f"{held} connections, the most allowed")
            self.per_token[who.device_id] = held + 1
            try:
                await self._serve(ws, who, since)
            finally:  # before the close handshake, as a client may reconnect at once
                left = self.per_token[who.device_id] - 1
                if left:
                    self.per_token[who.device_id] = left
                else:
                    del self.per_token[who.device_id]
        except _Close as close:
            await _close(ws, close.code, close.reason)
        except WebSocketDisconnect:
            pass
        finally:
            self.connections -= 1
            self.metrics.ws_connections.dec()

    async def _authenticate(self, ws: WebSocket, header: str) -> tuple[Principal, int]:
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

    async def _serve(self, ws: WebSocket, who: Principal, since: int) -> None:
        me = asyncio.current_task()
        assert me is not None
        conn = Connection(self, ws, who, me)
        out = conn.out
        if self.sessions is not None:
            conn.watched = self.sessions.register(who.user_id, who.device_id, out.end)
        conn.subscription = self.bus.subscribe(device_topic(who.device_id), conn.on_bus)
        try:
            if self.channels is not None and self.channel_ids is not None:
                # Channel frames carry their channel's own seq; a gap is filled over HTTP
                # from /channels/{handle}/updates?since=N, so ordering here is best effort.
                conn.membership = self.channels.attach(
                    await self.channel_ids(who.user_id), conn.push)
            # The reader runs in this task; a writer task runs only while there is
            # something to send (catch-up, then whatever the outbox holds), so an idle
            # connection is this one task. A writer that fails stops the reader.
            conn.start(self._writer(ws, who, since, out))
            try:
                await self._read(ws, who, conn)
            except asyncio.CancelledError:
                if not conn.interrupted:
                    raise
                me.uncancel()
                if out.slow:
                    self.metrics.ws_slow_closed.inc()
                    raise _Close(limits.WS_CLOSE_SLOW_CONSUMER, "slow consumer") from None
                if conn.writer is not None:
                    conn.writer.result()  # re-raise the writer's _Close / disconnect
        finally:
            await conn.close()

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
                      out: Outbox) -> None:
        """Catch up from ``since``, say live, then send what queued meanwhile."""
        head = await self.streams.head(who.device_id)
        out.sent = await self._catch_up(ws, who.device_id, min(since, head))
        await ws.send_text(live_frame(out.sent))
        await self.drain(ws, who, out)

    async def drain(self, ws: WebSocket, who: Principal, out: Outbox) -> None:
        """Send what the outbox holds, in order; return when it is empty."""
        while (item := out.next()) is not None:
            match item:
                case EndSession(reason):  # not counted in the queue: it jumped it
                    raise _Close(limits.WS_CLOSE_REVOKED, reason.value)
                case Frame(text):  # a reply or a channel post: one writer per socket
                    self.metrics.ws_send_queue.dec()
                    await ws.send_text(text)
                case CatchUp():
                    self.metrics.ws_send_queue.dec()
                    out.sent = await self._catch_up(ws, who.device_id, out.sent)
                case Event(seq, frame):
                    self.metrics.ws_send_queue.dec()
                    step = next_step(out.sent, seq)
                    if step is Step.SEND:
                        await ws.send_text(frame)
                        self.metrics.events_delivered.inc()
                        out.sent = seq
                    elif step is Step.CATCH_UP:
                        out.sent = await self._catch_up(ws, who.device_id, out.sent)

    async def _read(self, ws: WebSocket, who: Principal, conn: Connection) -> None:
        """The read loop. It awaits the ASGI ``receive`` itself: Starlette's
        ``WebSocket.receive`` would be one more coroutine frame held by each idle socket
        (it only tracks the client's state, which nothing here reads)."""
        out = conn.out
        receive = ws._receive
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))
            text = message.get("text")
            if text is None:
                raise _Close(limits.WS_CLOSE_BAD_FRAME, "frames are JSON text")
            if out.ended is not None:
                continue  # the session ended: nothing more is taken from this socket
            try:
                frame = parse_client_frame(text)
            except FrameError as exc:
                out.put(Frame(error_frame(exc.code, str(exc))))
                continue
            if isinstance(frame, Ack):
                await self.streams.ack(who.device_id, frame.upto)
            elif isinstance(frame, Ping):
                out.put(PONG_FRAME)
            elif isinstance(frame, Hello):
                out.put(Frame(error_frame("bad_frame", "hello was already said")))
            elif self.on_send is None:
                out.put(Frame(error_frame("bad_frame", "this server does not accept sends")))
            else:
                inflight, sends = conn.sending()
                await inflight.acquire()
                task = asyncio.create_task(self._send(who, frame, conn, inflight, self.on_send))
                sends.add(task)
                task.add_done_callback(sends.discard)

    async def _send(self, who: Principal, frame: SendFrame | BadSend, conn: Connection,
                    inflight: asyncio.Semaphore, hook: SendHook) -> None:
        try:
            if conn.out.ended is not None:
                return  # refused: a measure ended the session since the frame was read
            conn.answer(await hook(who, frame))
        except Exception:  # a failed send must not kill the connection; the client retries
            log.exception("send over WebSocket failed")
        finally:
            inflight.release()


def _release_scope(ws: WebSocket) -> None:
    """Forget the connection's ASGI scope once the bearer token is read from it.

    The scope lives as long as the connection (the server, each ASGI layer's frame and
    the ``WebSocket`` hold it): about 1 KB of header tuples and bytes, and the scope
    dict with its state and extension dicts another ~0.8 KB, per connection
    (``benchmarks/ws_memory.py``). After the accept nothing reads it: uvicorn uses it
    only to log the handshake, and the gateway takes what it needs (the header) first.
    """
    headers = ws.scope.get("headers")
    if isinstance(headers, list):
        headers.clear()
    ws.scope.clear()
    ws.__dict__.pop("_headers", None)  # Starlette's cached view of the headers


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    if ws.application_state == WebSocketState.DISCONNECTED:
        return
    with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
        await asyncio.wait_for(ws.close(code, reason), timeout=2)


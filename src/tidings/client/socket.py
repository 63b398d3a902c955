"""An open event-stream connection that also carries the device's sends.

The gateway accepts private messages as ``send`` frames on the device's WebSocket and
answers each with ``sent`` (or ``error``) carrying the frame's ``ref``, only after the
group commit made it durable: the same promise as ``POST /api/v1/messages``, without
an HTTP request, a token check and a route per message.

A reader task owns the connection: it takes the answers to this object's own sends as
they arrive, whoever else reads the stream and however slowly, and queues every other
frame for :meth:`Socket.recv` (the stream's consumer: ``Messenger.receive``, the chat
client). So a send made while the consumer is busy (even from inside an event
handler) is still answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from typing import Any

import websockets
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK

FRAME_BUFFER = 256
"""Frames queued for the consumer; beyond this the reader waits (TCP backpressure)."""
REPLY_TIMEOUT_S = 10.0
"""How long a send waits for its answer before the caller falls back to HTTP."""
_REPLY_PREFIXES = ('{"type":"sent"', '{"type":"error"')
_END = object()
_ENCODER = json.JSONEncoder(separators=(",", ":"))
"""Built once (``json.dumps`` with options builds an encoder per call)."""


class Socket:
    def __init__(self, conn: websockets.ClientConnection) -> None:
        self.conn = conn
        self._frames: asyncio.Queue[Any] = asyncio.Queue(FRAME_BUFFER)
        self._replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._refs = itertools.count(1)
        self._closed: ConnectionClosed | None = None
        self._reader = asyncio.create_task(self._read(), name="tidings-socket")

    @property
    def open(self) -> bool:
        return self._closed is None and not self._reader.done()

    @property
    def backlog(self) -> int:
        """Stream frames received and not yet taken by :meth:`recv`."""
        return self._frames.qsize()

    async def _read(self) -> None:
        try:
            while True:
                raw = await self.conn.recv()
                if self._replies and isinstance(raw, str) and raw.startswith(_REPLY_PREFIXES):
                    frame = json.loads(raw)
                    waiter = self._replies.pop(str(frame.get("ref")), None)
                    if waiter is not None:
                        if not waiter.done():
                            waiter.set_result(frame)
                        continue
                if self._frames.full():
                    await self._frames.put(raw)  # the consumer is behind: wait for it
                else:
                    self._frames.put_nowait(raw)  # no coroutine per frame
        except ConnectionClosed as exc:
            self._closed = exc
        finally:
            for waiter in self._replies.values():
                if not waiter.done():
                    waiter.set_exception(ConnectionError("the connection closed"))
            self._replies.clear()
            with contextlib.suppress(asyncio.QueueFull):
                self._frames.put_nowait(_END)

    async def recv(self) -> str | bytes:
        """The next stream frame (not an answer to this object's sends); raises the
        connection's ``ConnectionClosed`` when it has ended, as websockets does."""
        item = await self._frames.get()
        if item is _END:
            self._frames.put_nowait(_END)  # every later recv() ends too
            if self._closed is not None:
                raise self._closed
            raise ConnectionError("the connection closed")
        frame: str | bytes = item
        return frame

    def __aiter__(self) -> Socket:
        return self

    async def __anext__(self) -> str | bytes:
        """``async for raw in sock``, as on a websockets connection: ends on a normal
        close, raises on an abnormal one."""
        try:
            return await self.recv()
        except ConnectionClosedOK:
            raise StopAsyncIteration from None

    async def send(self, text: str) -> None:
        """A raw frame (hello, ack, or a send whose answer the caller reads itself)."""
        await self.conn.send(text)

    async def request(self, frame: dict[str, Any], timeout: float = REPLY_TIMEOUT_S
                      ) -> dict[str, Any]:
        """Send a ``send`` frame and return its answer (``sent`` or ``error``).

        Raises ``ConnectionError`` or ``TimeoutError`` if no answer came: the send may
        or may not have been stored, so the caller retries with the same ``client_id``
        (the server answers a retry with the first id and stores nothing twice)."""
        if not self.open:
            raise ConnectionError("the connection is closed")
        ref = f"s{next(self._refs)}"
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[ref] = waiter
        try:
            await self.conn.send(_ENCODER.encode({**frame, "type": "send", "ref": ref}))
            async with asyncio.timeout(timeout):  # cheaper than wait_for: no extra task
                return await waiter
        except ConnectionClosed as exc:
            raise ConnectionError("the connection closed") from exc
        finally:
            self._replies.pop(ref, None)

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader

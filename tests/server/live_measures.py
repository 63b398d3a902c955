"""Helpers for the live-measure tests: a socket's close, timed against a deadline."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import websockets
from websockets.exceptions import ConnectionClosed

CLOSE_DEADLINE_S = 1.0
"""Issue 20: measures close the affected sockets within one second on every process."""


@dataclass(frozen=True)
class Closed:
    code: int
    reason: str
    after_s: float


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/api/v1/ws"


async def connect(base: str, token: str) -> websockets.ClientConnection:
    """Open, say hello and wait for ``live``: from here the socket is registered."""
    conn = await websockets.connect(ws_url(base),
                                    additional_headers={"Authorization": f"Bearer {token}"})
    await conn.send(json.dumps({"type": "hello", "since": 0}))
    while True:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(conn.recv(), 10))
        if frame["type"] == "live":
            return conn


async def closed_within(conn: websockets.ClientConnection, since: float,
                        deadline_s: float = CLOSE_DEADLINE_S) -> Closed:
    """Read until the server closes the socket; fail if it is still open at the deadline
    (counted from ``since``, a ``time.monotonic()`` taken when the measure returned)."""
    try:
        while True:
            left = since + deadline_s - time.monotonic()
            if left <= 0:
                raise AssertionError(f"socket still open {deadline_s} s after the measure")
            try:
                await asyncio.wait_for(conn.recv(), left)
            except TimeoutError:
                continue
    except ConnectionClosed as exc:
        after = time.monotonic() - since
        if exc.rcvd is None:
            raise AssertionError("the connection dropped without a close frame") from exc
        if after > deadline_s:
            raise AssertionError(f"closed after {after:.3f} s") from exc
        return Closed(exc.rcvd.code, exc.rcvd.reason, after)


async def still_open(conn: websockets.ClientConnection) -> bool:
    await conn.send('{"type":"ping"}')
    while True:
        frame = json.loads(await asyncio.wait_for(conn.recv(), 5))
        if frame["type"] == "pong":
            return True


async def refused(base: str, token: str) -> int:
    """A new socket with the ended session's token: the close code it gets."""
    async with websockets.connect(ws_url(base),
                                  additional_headers={"Authorization": f"Bearer {token}"}
                                  ) as conn:
        await conn.send(json.dumps({"type": "hello", "since": 0}))
        try:
            await asyncio.wait_for(conn.recv(), 5)
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd is not None else -1
    raise AssertionError("the ended session's token still opens a socket")

"""Hostile WebSocket input: huge and fragmented frames, binary and broken frames, bad
JSON, unsafe escapes and frames that break the protocol itself.

The server is ``tidings serve``'s own uvicorn configuration (frame limit included).
Each case ends in the documented close code or error frame, and stores nothing.
Catalogue: docs/hostile-inputs.md.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import struct
from typing import Any

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.server.hostile_util import (
    BODY_TIMEOUT_S,
    HEADER_TIMEOUT_S,
    HostileServer,
    hostile_fixture,  # noqa: F401 - the module's server fixture
)
from tidings.protocol import limits


async def _recv(conn: websockets.ClientConnection, timeout: float = 5) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(await asyncio.wait_for(conn.recv(), timeout))
    return frame


async def _live(hostile: HostileServer, name: str) -> websockets.ClientConnection:
    """A connection that said hello and caught up."""
    conn = await websockets.connect(hostile.ws_url, additional_headers=hostile.user(name),
                                    max_size=2**22)
    await conn.send(json.dumps({"type": "hello", "since": 0}))
    while (await _recv(conn))["type"] != "live":
        pass
    return conn


async def _closed_with(conn: websockets.ClientConnection) -> int:
    with pytest.raises(ConnectionClosed) as info:
        while True:
            await asyncio.wait_for(conn.recv(), 5)
    assert info.value.rcvd is not None, "closed without a close frame"
    return info.value.rcvd.code


async def test_huge_frame_closes_1009(hostile: HostileServer) -> None:
    conn = await _live(hostile, "someone")
    before = hostile.snapshot()
    frame = json.dumps({"type": "send", "ref": "r1", "pad": "x" * limits.WS_MAX_FRAME_BYTES})
    await conn.send(frame)
    assert await _closed_with(conn) == limits.WS_CLOSE_TOO_BIG
    assert hostile.snapshot() == before


async def test_binary_frame_instead_of_hello_closes_4002(hostile: HostileServer) -> None:
    async with websockets.connect(hostile.ws_url) as conn:
        await conn.send(b'{"type": "hello"}')
        assert await _closed_with(conn) == limits.WS_CLOSE_BAD_FRAME


async def test_binary_frame_after_hello_closes_4002(hostile: HostileServer) -> None:
    conn = await _live(hostile, "someone")
    await conn.send(b"\x00\x01binary")
    assert await _closed_with(conn) == limits.WS_CLOSE_BAD_FRAME


async def test_bad_json_instead_of_hello_closes_4002(hostile: HostileServer) -> None:
    async with websockets.connect(hostile.ws_url) as conn:
        await conn.send('{"type": "hello", ')
        assert await _closed_with(conn) == limits.WS_CLOSE_BAD_FRAME


@pytest.mark.parametrize("bad", ["{not json", '{"type": "send", "ref": "\\ud800"}',
                                 '{"type": "ack", "upto": "\\u0000"}',
                                 "[" * (limits.MAX_JSON_DEPTH + 5)])
async def test_bad_json_after_hello_is_an_error_frame(hostile: HostileServer,
                                                      bad: str) -> None:
    """The connection answers with an error frame and keeps working."""
    conn = await _live(hostile, "someone")
    before = hostile.snapshot()
    await conn.send(bad)
    frame = await _recv(conn)
    assert frame["type"] == "error" and frame["code"] == "bad_frame", frame
    await conn.send('{"type": "ping"}')
    assert (await _recv(conn))["type"] == "pong"
    await conn.close()
    assert hostile.snapshot() == before


async def test_send_with_surrogate_stores_nothing(hostile: HostileServer) -> None:
    """A private message whose envelope escapes a lone surrogate is refused whole."""
    conn = await _live(hostile, "someone")
    hostile.user("ws_recipient")
    before = hostile.snapshot()
    send = ('{"type": "send", "ref": "s1", "client_id": "c1", "to": "ws_recipient", '
            '"envelopes": [{"device_id": "X\\udfff", "type": 0, "body": "AAAA"}]}')
    await conn.send(send)
    frame = await _recv(conn)
    assert frame["type"] == "error" and frame["code"] == "bad_frame", frame
    await conn.close()
    assert hostile.snapshot() == before


async def _raw_ws(hostile: HostileServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A WebSocket handshake by hand, so the test can send frames no library would."""
    reader, writer = await asyncio.open_connection("127.0.0.1", hostile.port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET /api/v1/ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 101"), head
    return reader, writer


async def _close_code(reader: asyncio.StreamReader, timeout: float = 5) -> int:
    """The code of the server's close frame (server frames are unmasked)."""
    while True:
        first, second = await asyncio.wait_for(reader.readexactly(2), timeout)
        length = second & 0x7F
        if length == 126:
            length = struct.unpack(">H", await reader.readexactly(2))[0]
        payload = await reader.readexactly(length)
        if first & 0x0F == 0x8:
            code: int = struct.unpack(">H", payload[:2])[0]
            return code


def _masked(opcode: int, payload: bytes, fin: bool = True, rsv: int = 0) -> bytes:
    """A client frame (RFC 6455 section 5.2); a zero mask leaves the payload as is."""
    first = bytes([(0x80 if fin else 0) | rsv | opcode])
    if len(payload) < 126:
        size = bytes([0x80 | len(payload)])
    else:
        size = bytes([0x80 | 126]) + struct.pack(">H", len(payload))
    return first + size + b"\x00\x00\x00\x00" + payload


async def test_fragmented_message_over_the_limit_closes_1009(hostile: HostileServer) -> None:
    """Each fragment is small (32 KiB); the message they make is over the limit.

    Raw frames, so the test controls fragmentation and pace, with the reader running
    alongside.
    """
    reader, writer = await _raw_ws(hostile)
    before = hostile.snapshot()
    closing = asyncio.create_task(_close_code(reader, timeout=10))
    piece = b"y" * (32 * 1024)
    frames = [_masked(0x1, b'{"type": "hello", "pad": "', fin=False)]
    frames += [_masked(0x0, piece, fin=False)] * (limits.WS_MAX_FRAME_BYTES // len(piece) + 2)
    frames.append(_masked(0x0, b'"}'))
    try:
        for frame in frames:
            if closing.done():
                break
            try:
                writer.write(frame)
                await writer.drain()
            except ConnectionError:
                break
            # Paced, so the server has read every byte when it closes: bytes it never
            # read would make its kernel answer with a reset that eats the close frame.
            await asyncio.wait([closing], timeout=0.05)
        assert await closing == limits.WS_CLOSE_TOO_BIG
    finally:
        closing.cancel()
        writer.close()
    assert hostile.snapshot() == before


@pytest.mark.parametrize(("name", "frame", "code"), [
    ("unmasked client frame", b"\x81\x05hello", 1002),
    ("reserved bits set", _masked(0x1, b"{}", rsv=0x40), 1002),
    ("unknown opcode", _masked(0x3, b"{}"), 1002),
    ("invalid UTF-8 in a text frame", _masked(0x1, b'{"type": "\xff"}'), 1007),
    ("continuation without a start", _masked(0x0, b"{}"), 1002),
])
async def test_protocol_violations_close_with_rfc6455_codes(hostile: HostileServer,
                                                             name: str, frame: bytes,
                                                             code: int) -> None:
    reader, writer = await _raw_ws(hostile)
    try:
        writer.write(frame)
        await writer.drain()
        assert await _close_code(reader) == code, name
    finally:
        writer.close()


async def test_quiet_connection_outlives_the_http_deadlines(hostile: HostileServer) -> None:
    """The header deadline and body timeout end at the upgrade: a live connection that
    is quiet for longer than both still works."""
    conn = await _live(hostile, "someone")
    await asyncio.sleep(max(HEADER_TIMEOUT_S, BODY_TIMEOUT_S) + 1.5)
    await conn.send('{"type": "ping"}')
    assert (await _recv(conn))["type"] == "pong"
    await conn.close()


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_hostile_upgrades_and_frames_write_no_traceback(hostile: HostileServer) -> None:
    """Issue 20: an Upgrade request with over 64 KiB of headers, and invalid UTF-8 in a
    text frame, each wrote a traceback into the log (any client could fill it)."""
    seen = _Records()
    names = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "tidings", "websockets")
    for name in names:
        logging.getLogger(name).addHandler(seen)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", hostile.port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET /api/v1/ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      f"Sec-WebSocket-Version: 13\r\n").encode()
                     + b"".join(b"X-Pad-%d: %s\r\n" % (i, b"a" * 1000) for i in range(70))
                     + b"\r\n")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(64), 5)
        assert not answer.startswith(b"HTTP/1.1 101"), answer
        writer.close()

        reader, writer = await _raw_ws(hostile)
        writer.write(_masked(0x1, b'{"type": "\xff"}'))
        await writer.drain()
        assert await _close_code(reader) == 1007
        writer.close()
        await asyncio.sleep(0.3)  # the server thread's log lines, if any
    finally:
        for name in names:
            logging.getLogger(name).removeHandler(seen)
    noisy = [r.getMessage() for r in seen.records
             if r.exc_info or "Traceback" in r.getMessage()]
    assert noisy == []

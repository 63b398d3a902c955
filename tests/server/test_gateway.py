"""The WebSocket gateway against a real uvicorn: auth, resume, order, slow consumers."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.apps import edge_of, kernel_of
from tests.conftest import LiveServer, bearer, register
from tidings.protocol import limits
from tidings.services.streams import StreamService

Live = Callable[..., AbstractAsyncContextManager[LiveServer]]


def ws_url(server: LiveServer) -> str:
    return server.url.replace("http://", "ws://") + "/api/v1/ws"


async def recv(conn: websockets.ClientConnection, timeout: float = 5) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(await asyncio.wait_for(conn.recv(), timeout))
    return frame


async def connect(server: LiveServer, session: dict[str, Any], since: int = 0
                  ) -> websockets.ClientConnection:
    conn = await websockets.connect(ws_url(server), additional_headers=bearer(session))
    await conn.send(json.dumps({"type": "hello", "since": since}))
    return conn


async def events_until_live(conn: websockets.ClientConnection) -> tuple[list[int], int]:
    seqs: list[int] = []
    while True:
        frame = await recv(conn)
        if frame["type"] == "live":
            return seqs, frame["upto"]
        assert frame["type"] == "event"
        seqs.append(frame["seq"])


async def test_ws_rejects_missing_and_bad_tokens(live_server: Live) -> None:
    async with live_server() as server:
        for hello in ({"type": "hello"}, {"type": "hello", "token": "tdg_forged"},
                      {"type": "ack", "upto": 1}):
            async with websockets.connect(ws_url(server)) as conn:
                await conn.send(json.dumps(hello))
                with pytest.raises(ConnectionClosed) as info:
                    await recv(conn)
                assert info.value.rcvd is not None
                assert info.value.rcvd.code in (limits.WS_CLOSE_UNAUTHORIZED,
                                                limits.WS_CLOSE_BAD_FRAME)


async def test_token_in_hello_works_for_browsers(live_server: Live) -> None:
    async with live_server() as server, httpx.AsyncClient(base_url=server.url) as http:
        session = await register(http, "alice")
        async with websockets.connect(ws_url(server)) as conn:
            await conn.send(json.dumps({"type": "hello", "since": 0, "token": session["token"]}))
            assert await recv(conn) == {"type": "live", "upto": 0}
            await conn.send('{"type":"ping"}')
            assert await recv(conn) == {"type": "pong"}


async def test_resume_after_disconnect_loses_and_repeats_nothing(live_server: Live) -> None:
    async with live_server() as server, httpx.AsyncClient(base_url=server.url) as http:
        session = await register(http, "bob")
        streams: StreamService = kernel_of(server).streams
        device = session["device_id"]
        await streams.append([(device, "test", {"n": i}) for i in range(1, 6)])
        conn = await connect(server, session)
        seqs, upto = await events_until_live(conn)
        assert seqs == [1, 2, 3, 4, 5] and upto == 5
        # live delivery, in order
        for i in range(6, 9):
            await streams.append([(device, "test", {"n": i})])
        got = [(await recv(conn))["seq"] for _ in range(3)]
        assert got == [6, 7, 8]
        await conn.send(json.dumps({"type": "ack", "upto": 7}))
        await asyncio.sleep(0.1)
        await conn.close()
        # while offline, more arrive
        await streams.append([(device, "test", {"n": i}) for i in range(9, 12)])
        conn = await connect(server, session, since=7)
        seqs, upto = await events_until_live(conn)
        assert seqs == [8, 9, 10, 11] and upto == 11
        await conn.close()
        # acknowledged events are gone from the store
        page = (await http.get("/api/v1/stream", params={"since": 0},
                               headers=bearer(session))).json()
        assert [e["seq"] for e in page["events"]] == [8, 9, 10, 11]
        assert page["events"][0]["body"] == {"n": 8}


async def test_missed_bus_message_is_caught_up_from_store(live_server: Live) -> None:
    async with live_server() as server, httpx.AsyncClient(base_url=server.url) as http:
        session = await register(http, "carol")
        streams: StreamService = kernel_of(server).streams
        conn = await connect(server, session)
        await events_until_live(conn)
        # store two events without publishing the first: the bus "lost" it
        async with streams.db.write() as db_conn:
            lost = await streams.append_in(db_conn, [(session["device_id"], "t", {"n": 1})])
        assert lost[0].seq == 1
        await streams.append([(session["device_id"], "t", {"n": 2})])
        assert [(await recv(conn))["seq"] for _ in range(2)] == [1, 2]
        await conn.close()


async def test_concurrent_producers_arrive_in_order_once(live_server: Live) -> None:
    async with live_server() as server, httpx.AsyncClient(base_url=server.url) as http:
        session = await register(http, "dora")
        streams: StreamService = kernel_of(server).streams
        conn = await connect(server, session)
        await events_until_live(conn)
        await asyncio.gather(*(streams.append([(session["device_id"], "t", {"i": i})])
                               for i in range(100)))
        seqs = [(await recv(conn))["seq"] for _ in range(100)]
        assert seqs == list(range(1, 101))
        await conn.close()


async def _raw_ws_that_never_reads(server: LiveServer, token: str
                                   ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A hand-made WebSocket client that says hello and then stops reading its socket."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET /api/v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  f"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n\r\n"
                  ).encode())
    assert b" 101 " in await reader.readuntil(b"\r\n\r\n")
    payload = b'{"type":"hello","since":0}'
    mask = os.urandom(4)
    writer.write(bytes([0x81, 0x80 | len(payload)]) + mask
                 + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
    await writer.drain()
    transport = writer.transport
    assert isinstance(transport, asyncio.ReadTransport)
    transport.pause_reading()
    return reader, writer


async def test_slow_consumer_is_closed_and_memory_bounded(live_server: Live) -> None:
    async with live_server(ws_send_queue=8) as server, \
            httpx.AsyncClient(base_url=server.url) as http:
        session = await register(http, "erin")
        streams: StreamService = kernel_of(server).streams
        _, writer = await _raw_ws_that_never_reads(server, session["token"])
        await asyncio.sleep(0.2)
        blob = "x" * 60_000
        gateway = edge_of(server).gateway
        for _ in range(600):  # ~36 MB: far beyond socket buffers and the queue
            await streams.append([(session["device_id"], "big", {"blob": blob})])
        for _ in range(100):
            if gateway.connections == 0:
                break
            await asyncio.sleep(0.05)
        assert gateway.connections == 0
        metrics = (await http.get("/metrics")).text
        assert "tidings_ws_slow_consumer_closed_total 1.0" in metrics
        sent = next(float(line.split()[1]) for line in metrics.splitlines()
                    if line.startswith("tidings_ws_events_sent_total "))
        assert sent < 300  # the server stopped sending, it did not buffer 36 MB
        writer.close()
        # nothing was lost: the events wait in the store for the next connection
        page = (await http.get("/api/v1/stream", params={"since": 0, "limit": 1},
                               headers=bearer(session))).json()
        assert page["events"][0]["seq"] == 1
        conn = await connect(server, session)
        assert (await recv(conn))["seq"] == 1
        await conn.close()


async def test_logout_closes_live_connections(live_server: Live) -> None:
    async with live_server() as server, httpx.AsyncClient(base_url=server.url) as http:
        session = await register(http, "fred")
        conn = await connect(server, session)
        await events_until_live(conn)
        await http.post("/api/v1/accounts/logout", headers=bearer(session))
        with pytest.raises(ConnectionClosed) as info:
            await recv(conn)
        assert info.value.rcvd is not None
        assert info.value.rcvd.code == limits.WS_CLOSE_REVOKED


async def test_bad_frames_get_errors_not_crashes(live_server: Live) -> None:
    async with live_server() as server, httpx.AsyncClient(base_url=server.url) as http:
        session = await register(http, "gina")
        conn = await connect(server, session)
        await events_until_live(conn)
        for bad in ("not json", "[]", '{"type":"ack","upto":-1}', '{"type":"wat"}',
                    "[" * 100 + "]" * 100):
            await conn.send(bad)
            frame = await recv(conn)
            assert frame["type"] == "error" and frame["code"] == "bad_frame"
        await conn.send(b"\x00binary")
        with pytest.raises(ConnectionClosed) as info:
            await recv(conn)
        assert info.value.rcvd is not None
        assert info.value.rcvd.code == limits.WS_CLOSE_BAD_FRAME

"""The lean WebSocket protocol (server/ws_protocol.py): its slots cover every attribute
uvicorn's protocol sets (one more would quietly bring back a per-connection dict), its
inbox and flow flag keep the asyncio.Queue / asyncio.Event behaviour uvicorn uses, and
its one keepalive timer per loop still pings every connection and drops silent ones."""

from __future__ import annotations

import asyncio
import inspect
import re
from typing import Any

import pytest
import uvicorn
import websockets
from uvicorn.config import Config
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState
from websockets.client import ClientProtocol
from websockets.frames import Frame as WsFrame
from websockets.frames import Opcode
from websockets.uri import parse_uri

from tidings.server.ws_protocol import (
    KEEPALIVE_TICK_S,
    Keepalive,
    QuietWebSocketProtocol,
    _Inbox,
    _Writable,
)


async def _app(scope: object, receive: object, send: object) -> None:
    return None


def test_every_attribute_uvicorn_sets_is_a_slot() -> None:
    source = inspect.getsource(WebSocketsSansIOProtocol)
    assigned = set(re.findall(r"self\.(\w+)(?:\s*:[^=\n]+)?\s*=[^=]", source))
    assert assigned <= set(QuietWebSocketProtocol.__slots__), \
        assigned - set(QuietWebSocketProtocol.__slots__)


async def test_a_new_protocol_keeps_no_instance_dict() -> None:
    config = Config(_app, ws="websockets-sansio")
    config.load()
    protocol = QuietWebSocketProtocol(config=config, server_state=ServerState(),
                                      app_state={})
    assert vars(protocol) == {}
    assert isinstance(protocol.queue, _Inbox)
    assert isinstance(protocol.writable, _Writable)


async def test_the_inbox_hands_items_out_in_order_and_wakes_its_reader() -> None:
    inbox = _Inbox()
    assert inbox.empty()
    inbox.put_nowait(1)
    inbox.put_nowait(2)
    assert [await inbox.get(), await inbox.get()] == [1, 2]
    reader = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    assert not reader.done()
    inbox.put_nowait(3)
    assert await asyncio.wait_for(reader, 1) == 3
    assert inbox.empty() and inbox.waiter is None


async def test_a_cancelled_get_loses_nothing() -> None:
    inbox = _Inbox()
    reader = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    inbox.put_nowait("kept")
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    assert await inbox.get() == "kept"


async def test_writers_wait_while_paused_and_all_resume() -> None:
    flag = _Writable()
    await asyncio.wait_for(flag.wait(), 1)  # open: no wait
    flag.clear()
    writers = [asyncio.create_task(flag.wait()) for _ in range(3)]
    await asyncio.sleep(0.01)
    assert not any(w.done() for w in writers)
    flag.set()
    await asyncio.wait_for(asyncio.gather(*writers), 1)
    assert flag.waiters is None


async def _echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    assert scope["type"] == "websocket"
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    while (message := await receive())["type"] == "websocket.receive":
        await send({"type": "websocket.send", "text": message["text"]})


async def _serve_echo(ping_s: float) -> tuple[uvicorn.Server, asyncio.Task[None], int]:
    config = uvicorn.Config(_echo, host="127.0.0.1", port=0, ws=QuietWebSocketProtocol,
                            ws_ping_interval=ping_s, ws_ping_timeout=ping_s,
                            log_level="warning", lifespan="off", loop="asyncio")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, port


async def _silent_client(port: int, seconds: float) -> tuple[int, int | None]:
    """Open a WebSocket that never answers a ping; return (pings seen, close code)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    client = ClientProtocol(parse_uri(f"ws://127.0.0.1:{port}/"))
    client.send_request(client.connect())
    writer.write(b"".join(client.data_to_send()))
    pings, code = 0, None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while code is None and (left := deadline - loop.time()) > 0:
        try:
            data = await asyncio.wait_for(reader.read(4096), left)
        except TimeoutError:
            break
        if not data:
            break
        client.receive_data(data)
        client.data_to_send()  # the pongs: never written
        for event in client.events_received():
            if isinstance(event, WsFrame) and event.opcode is Opcode.PING:
                pings += 1
            elif isinstance(event, WsFrame) and event.opcode is Opcode.CLOSE:
                code = client.close_rcvd.code if client.close_rcvd else -1
    writer.close()
    return pings, code


async def test_one_keepalive_timer_pings_answering_clients_and_drops_silent_ones() -> None:
    server, task, port = await _serve_echo(0.3)
    try:
        async with websockets.connect(f"ws://127.0.0.1:{port}/") as answering:
            pings, code = await _silent_client(port, 5)
            assert pings == 1 and code == 1011  # "keepalive ping timeout"
            # The answering client got pings too (websockets answers them) and is open.
            await answering.send("still here")
            assert await asyncio.wait_for(answering.recv(), 2) == "still here"
            loop = asyncio.get_running_loop()
            assert Keepalive._by_loop[loop].due  # its next ping waits on the one timer
            assert all(isinstance(c, QuietWebSocketProtocol) and c.ping_timer is None
                       for c in server.server_state.connections)
    finally:
        server.should_exit = True
        await task
    await asyncio.sleep(2 * KEEPALIVE_TICK_S)  # the timer's next tick finds nobody
    assert asyncio.get_running_loop() not in Keepalive._by_loop  # forgotten when idle


async def test_send_text_now_writes_at_once_only_when_send_would_not_wait() -> None:
    server, task, port = await _serve_echo(20)
    try:
        async with websockets.connect(f"ws://127.0.0.1:{port}/") as client:
            await client.send("hello")  # the app has accepted once this is echoed
            assert await asyncio.wait_for(client.recv(), 2) == "hello"
            (protocol,) = [c for c in server.server_state.connections
                           if isinstance(c, QuietWebSocketProtocol)]
            assert protocol.send_text_now("at once")
            assert await asyncio.wait_for(client.recv(), 2) == "at once"
            protocol.pause_writing()  # the transport's buffer is full: send would wait
            assert not protocol.send_text_now("held")
            protocol.resume_writing()
            assert protocol.send_text_now("again")
            assert await asyncio.wait_for(client.recv(), 2) == "again"
        await asyncio.sleep(0.2)  # the close handshake
        assert not protocol.send_text_now("after close")
    finally:
        server.should_exit = True
        await task

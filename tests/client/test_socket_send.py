"""The SDK sends over its open event-stream connection, and over HTTP without one."""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import httpx
import pytest

from tests.client.helpers import close_all, people
from tests.conftest import LiveServer, make_settings, running_app
from tidings.client.messaging import ACK_DELAY_S
from tidings.protocol.errors import NotFound

Live = Callable[..., AbstractAsyncContextManager[LiveServer]]


async def sent_by_path(url: str) -> dict[str, float]:
    """``tidings_messages_sent_total`` by path, as the server's /metrics reports it."""
    async with httpx.AsyncClient(base_url=url) as http:
        text = (await http.get("/metrics")).text
    found = re.findall(r'^tidings_messages_sent_total\{path="(\w+)"\} (\S+)$', text, re.M)
    return {path: float(value) for path, value in found}


async def test_sends_go_over_the_open_socket_and_are_delivered_once(
        live_server: Live, tmp_path: Path) -> None:
    async with live_server() as server:
        group = await people(server.url, tmp_path, ["ann", "ben"], per_person=1)
        ann, ben = group["ann"][0], group["ben"][0]
        try:
            async with ann.client.transport.connect(0) as sock:
                assert ann.client.transport.socket is sock
                for n in range(3):
                    await ann.send_text("ben", f"over the socket {n}")
            assert await sent_by_path(server.url) == {"websocket": 3.0}
            assert ann.client.transport.sent_over_socket == 3
            inbox = await ben.receive()
            assert [m.text for m in inbox.messages] == [f"over the socket {n}" for n in range(3)]
            assert (await ben.receive()).items == []
        finally:
            await close_all(group)


async def test_without_an_open_socket_sends_go_over_http(live_server: Live,
                                                         tmp_path: Path) -> None:
    async with live_server() as server:
        group = await people(server.url, tmp_path, ["cal", "dee"], per_person=1)
        cal, dee = group["cal"][0], group["dee"][0]
        try:
            await cal.send_text("dee", "no socket yet")
            async with cal.client.transport.connect(0) as sock:
                await sock.conn.close()  # the connection drops under the client
                loop = asyncio.get_running_loop()
                deadline = loop.time() + 5
                while cal.client.transport.socket is not None and loop.time() < deadline:
                    await asyncio.sleep(0.01)
                assert cal.client.transport.socket is None
                await cal.send_text("dee", "socket closed")
            assert await sent_by_path(server.url) == {"http": 2.0}
            got = [m.text for m in (await dee.receive()).messages]
            assert got == ["no socket yet", "socket closed"]
        finally:
            await close_all(group)


async def test_a_refused_socket_send_raises_what_http_raises(live_server: Live,
                                                            tmp_path: Path) -> None:
    async with live_server() as server:
        group = await people(server.url, tmp_path, ["eli"], per_person=1)
        eli = group["eli"][0]
        body = {"client_id": uuid.uuid4().hex, "to": "nobody", "commitment": "A" * 43 + "=",
                "envelopes": [{"device_id": "D1", "ciphertext": {"type": 1, "body": "x"}}]}
        try:
            with pytest.raises(NotFound) as over_http:
                await eli.client.send_message(body)
            async with eli.client.transport.connect(0):
                with pytest.raises(NotFound) as over_socket:
                    await eli.client.send_message(body)
            assert over_socket.value.code == over_http.value.code == "user_not_found"
            assert eli.client.transport.sent_over_socket == 0
        finally:
            await close_all(group)


async def test_an_acknowledged_socket_send_survives_a_restart(live_server: Live,
                                                              tmp_path: Path) -> None:
    async with live_server() as server:
        group = await people(server.url, tmp_path, ["fay", "gus"], per_person=1)
        fay, gus = group["fay"][0], group["gus"][0]
        async with fay.client.transport.connect(0):
            sent = await fay.send_text("gus", "durable before the answer")
        assert fay.client.transport.sent_over_socket == 1
        port = server.port
    # the server stops right after the answer; a new app opens the same SQLite file
    async with running_app(make_settings(tmp_path)) as app:
        restarted = LiveServer(app, port)
        await restarted.start()
        try:
            inbox = await gus.receive()
            assert [(m.id, m.text) for m in inbox.messages] == [
                (sent["id"], "durable before the answer")]
            assert (await gus.receive()).items == []
        finally:
            await restarted.stop()
            await close_all(group)


async def test_a_live_receiver_acknowledges_bursts_late_and_in_one_frame(
        live_server: Live, tmp_path: Path) -> None:
    """While live, ``receive`` acknowledges read events ``ACK_DELAY_S`` after the first
    of them (one ack for many messages), still on the open connection; on return,
    everything read is acknowledged."""
    async with live_server() as server:
        group = await people(server.url, tmp_path, ["hal", "ida"], per_person=1)
        hal, ida = group["hal"][0], group["ida"][0]
        acks: list[int] = []
        real_ack = ida.client.ack

        async def counted(upto: int, *, over_socket: bool = False) -> None:
            acks.append(upto)
            await real_ack(upto, over_socket=over_socket)

        ida.client.ack = counted  # type: ignore[method-assign]
        try:
            await hal.send_text("ida", "first")  # ida accepts hal's request
            await ida.receive()
            await ida.send_text("hal", "ok")
            acks.clear()
            got: list[str] = []
            listening = asyncio.create_task(
                ida.receive(5.0, lambda m: got.append(getattr(m, "text", ""))))
            async with hal.client.transport.connect(0):
                for n in range(5):
                    await hal.send_text("ida", f"burst {n}")
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 5
            while len(got) < 5 and loop.time() < deadline:
                await asyncio.sleep(0.01)
            assert got == [f"burst {n}" for n in range(5)]
            await asyncio.sleep(ACK_DELAY_S + 0.5)
            assert 1 <= len(acks) < 5  # late and coalesced, not one per message
            left = await ida.client.read_stream(0)
            assert [e for e in left["events"] if e["kind"] == "message"] == []
            listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listening
        finally:
            await close_all(group)


async def test_a_receive_cancelled_before_its_late_ack_resumes_after_what_it_read(
        live_server: Live, tmp_path: Path) -> None:
    """Cancelled between handling messages and acknowledging them (the ack waits
    ``ACK_DELAY_S``), ``receive`` keeps the key state and the position: the next one
    neither shows those messages again nor fails to decrypt them."""
    async with live_server() as server:
        group = await people(server.url, tmp_path, ["jon", "kim"], per_person=1)
        jon, kim = group["jon"][0], group["kim"][0]
        try:
            await jon.send_text("kim", "first")
            await kim.receive()
            got: list[object] = []
            listening = asyncio.create_task(kim.receive(30.0, got.append))
            async with jon.client.transport.connect(0):
                for n in range(3):
                    await jon.send_text("kim", f"live {n}")
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 5
            while len(got) < 3 and loop.time() < deadline:
                await asyncio.sleep(0.005)
            listening.cancel()  # well before ACK_DELAY_S has passed
            with contextlib.suppress(asyncio.CancelledError):
                await listening
            assert [getattr(m, "text", m) for m in got] == [f"live {n}" for n in range(3)]
            await jon.send_text("kim", "after")
            inbox = await kim.receive()
            assert inbox.errors == []
            assert [m.text for m in inbox.messages] == ["after"]
        finally:
            await close_all(group)

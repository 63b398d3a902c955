"""One access token holds at most ``ws_connections_per_token`` sockets at once (issue 20
item 7); the next is closed with 4029 and a reason, other tokens are not affected, and
a closed socket gives its place back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx
import pytest
import websockets

from tests.conftest import LiveServer, login, register
from tests.server.live_measures import connect, refused, still_open
from tidings.protocol import limits

Live = Callable[..., AbstractAsyncContextManager[LiveServer]]


async def test_a_token_holds_at_most_its_cap_of_sockets(live_server: Live) -> None:
    async with live_server(ws_connections_per_token=3) as server, \
            httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        alice = (await register(http, "alice"))["token"]
        laptop = (await login(http, "alice"))["token"]
        bob = (await register(http, "bob"))["token"]
        held = [await connect(server.url, alice) for _ in range(3)]
        code = await refused(server.url, alice)
        assert code == limits.WS_CLOSE_TOO_MANY
        others = [await connect(server.url, laptop), await connect(server.url, bob)]
        for conn in held + others:
            assert await still_open(conn)
        await held.pop().close()
        deadline = time.monotonic() + 5
        while True:  # the server notices the close, then the place is free again
            try:
                held.append(await connect(server.url, alice))
                break
            except websockets.ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd is not None else -1
            assert code == limits.WS_CLOSE_TOO_MANY
            assert time.monotonic() < deadline, "the closed socket kept its place"
            await asyncio.sleep(0.05)
        for conn in held + others:
            await conn.close()


async def test_the_refusal_says_why(live_server: Live) -> None:
    async with live_server(ws_connections_per_token=1) as server, \
            httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        token = (await register(http, "carol"))["token"]
        first = await connect(server.url, token)
        with pytest.raises(websockets.ConnectionClosed) as info:
            await connect(server.url, token)
        assert info.value.rcvd is not None
        assert info.value.rcvd.code == limits.WS_CLOSE_TOO_MANY
        assert "already holds 1 connections, the most allowed" in info.value.rcvd.reason
        await first.close()

"""Two server processes (two apps on real uvicorns) sharing one database and Redis:
an event stored through one reaches a device connected to the other, live."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx
import pytest

from tests.conftest import REDIS_URL, LiveServer, register
from tests.server.test_gateway import connect, recv
from tidings.bus.redis import RedisBus
from tidings.services.streams import StreamService

Live = Callable[..., AbstractAsyncContextManager[LiveServer]]

pytestmark = pytest.mark.redis


async def test_event_crosses_processes_through_redis(live_server: Live,
                                                     redis_prefix: str) -> None:
    shared = {"redis_url": REDIS_URL, "redis_prefix": redis_prefix}
    async with live_server(**shared) as one, live_server(**shared) as two, \
            httpx.AsyncClient(base_url=one.url) as http:
        bus_two = two.app.state.bus
        assert isinstance(bus_two, RedisBus) and isinstance(one.app.state.bus, RedisBus)
        session = await register(http, "alice")  # registered through process one
        conn = await connect(two, session)  # connected to process two
        try:
            assert await recv(conn) == {"type": "live", "upto": 0}
            assert await bus_two.synced()
            streams_one: StreamService = one.app.state.streams
            await streams_one.append([(session["device_id"], "test", {"hello": "there"})])
            frame = await recv(conn)
            assert frame["type"] == "event" and frame["seq"] == 1
        finally:
            await conn.close()

"""Two server processes (two apps on real uvicorns) sharing one database and Redis:
an event stored through one reaches a device connected to the other, live."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx
import pytest

from tests.bus.test_redis import eventually, kill_pubsub
from tests.conftest import REDIS_URL, LiveServer, register
from tests.server.test_gateway import connect, recv
from tidings.bus.local import LocalBus
from tidings.bus.redis import RedisBus
from tidings.services.streams import StreamService
from tidings.storage.streams import StreamStore

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


async def test_idle_device_catches_up_after_the_bus_reconnects(live_server: Live,
                                                               redis_prefix: str) -> None:
    shared = {"redis_url": REDIS_URL, "redis_prefix": redis_prefix}
    async with live_server(**shared) as server, \
            httpx.AsyncClient(base_url=server.url) as http:
        bus: RedisBus = server.app.state.bus
        session = await register(http, "bob")
        conn = await connect(server, session)
        try:
            assert await recv(conn) == {"type": "live", "upto": 0}
            assert await bus.synced()
            # Stored while the live message is lost (as during a Redis outage): a stream
            # service whose bus reaches nobody.
            streams = server.app.state.streams
            silent = StreamService(streams.db, StreamStore(), LocalBus(), streams.clock)
            await silent.append([(session["device_id"], "test", {"missed": True})])
            await kill_pubsub(bus)
            await eventually(lambda: bus.reconnects == 1, timeout=10)
            frame = await recv(conn)
            assert frame["type"] == "event" and frame["seq"] == 1
        finally:
            await conn.close()

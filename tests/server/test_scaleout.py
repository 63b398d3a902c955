"""Two server processes (two apps on real uvicorns) sharing one database and Redis:
an event stored through one reaches a device connected to the other, live."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import httpx
import pytest

from tests.apps import kernel_of
from tests.bus.test_redis import eventually, kill_pubsub
from tests.client.helpers import close_all, device
from tests.conftest import REDIS_URL, LiveServer, register
from tests.server.test_gateway import connect, recv
from tidings.bus.local import LocalBus
from tidings.bus.redis import RedisBus
from tidings.client.privacy import Privacy
from tidings.services.streams import StreamService
from tidings.storage.streams import StreamStore

Live = Callable[..., AbstractAsyncContextManager[LiveServer]]

pytestmark = pytest.mark.redis


async def test_event_crosses_processes_through_redis(live_server: Live,
                                                     redis_prefix: str) -> None:
    shared = {"redis_url": REDIS_URL, "redis_prefix": redis_prefix}
    async with live_server(**shared) as one, live_server(**shared) as two, \
            httpx.AsyncClient(base_url=one.url) as http:
        bus_two = kernel_of(two).bus
        assert isinstance(bus_two, RedisBus) and isinstance(kernel_of(one).bus, RedisBus)
        session = await register(http, "alice")  # registered through process one
        conn = await connect(two, session)  # connected to process two
        try:
            assert await recv(conn) == {"type": "live", "upto": 0}
            assert await bus_two.synced()
            streams_one: StreamService = kernel_of(one).streams
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
        bus: RedisBus = kernel_of(server).bus
        session = await register(http, "bob")
        conn = await connect(server, session)
        try:
            assert await recv(conn) == {"type": "live", "upto": 0}
            assert await bus.synced()
            # Stored while the live message is lost (as during a Redis outage): a stream
            # service whose bus reaches nobody.
            streams = kernel_of(server).streams
            silent = StreamService(streams.db, StreamStore(), LocalBus(), streams.clock)
            await silent.append([(session["device_id"], "test", {"missed": True})])
            await kill_pubsub(bus)
            await eventually(lambda: bus.reconnects == 1, timeout=10)
            frame = await recv(conn)
            assert frame["type"] == "event" and frame["seq"] == 1
        finally:
            await conn.close()


async def test_a_block_through_one_process_reaches_the_other_at_once(
        live_server: Live, redis_prefix: str, tmp_path: Path) -> None:
    """The send gate's kept decision (services/contacts.py) lives per process: a block
    made through process one drops process two's over the bus."""
    shared = {"redis_url": REDIS_URL, "redis_prefix": redis_prefix}
    async with live_server(**shared) as one, live_server(**shared) as two:
        assert await kernel_of(two).bus.synced()
        zoe = await device(one.url, tmp_path, "zoe", "d0", first=True)
        abe = await device(two.url, tmp_path, "abe", "d0", first=True)  # sends via two
        try:
            await abe.send_text("zoe", "hi")
            await zoe.receive()
            await zoe.send_text("abe", "hello")  # accepted both ways
            await abe.receive()
            await abe.send_text("zoe", "kept")  # process two keeps the decision
            assert [m.text for m in (await zoe.receive()).messages] == ["kept"]
            await Privacy(zoe).block("abe")  # through process one
            await eventually(lambda: not kernel_of(two).contacts._accepted)
            await abe.send_text("zoe", "after the block")
            assert (await zoe.receive()).messages == []
        finally:
            await close_all({"zoe": [zoe], "abe": [abe]})

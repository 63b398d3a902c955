"""RedisBus against the real Redis: two buses stand for two server processes."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from tests.conftest import REDIS_URL
from tidings.bus.redis import RedisBus

pytestmark = pytest.mark.redis


@pytest.fixture
async def pair(redis_prefix: str) -> AsyncIterator[tuple[RedisBus, RedisBus]]:
    a, b = RedisBus(REDIS_URL, prefix=redis_prefix), RedisBus(REDIS_URL, prefix=redis_prefix)
    await a.start()
    await b.start()
    yield a, b
    await a.close()
    await b.close()


async def eventually(check: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not callable(check) or not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def test_two_processes_deliver_to_each_other(pair: tuple[RedisBus, RedisBus]) -> None:
    a, b = pair
    got_a: list[bytes] = []
    got_b: list[bytes] = []
    a.subscribe("device:1", got_a.append)
    b.subscribe("device:1", got_b.append)
    assert await a.synced() and await b.synced()
    await a.publish("device:1", b"from a")
    await b.publish("device:1", b"from b")
    await eventually(lambda: len(got_a) == 2 and len(got_b) == 2)
    await asyncio.sleep(0.1)  # no duplicates arrive late
    assert sorted(got_a) == sorted(got_b) == [b"from a", b"from b"]
    assert got_a[0] == b"from a"  # one's own publish is delivered locally at once


async def test_unsubscribe_stops_delivery(pair: tuple[RedisBus, RedisBus]) -> None:
    a, b = pair
    got: list[bytes] = []
    first = b.subscribe("t", got.append)
    second = b.subscribe("t", got.append)
    assert await b.synced() and b.topic_count() == 1
    first.close()
    assert await b.synced() and b.topic_count() == 1  # one handler still listens
    await a.publish("t", b"one")
    await eventually(lambda: got == [b"one"])
    second.close()
    assert await b.synced() and b.topic_count() == 0
    await a.publish("t", b"two")
    await asyncio.sleep(0.2)
    assert got == [b"one"]
    assert b.subscriber_count() == 0


async def test_ten_thousand_topics(pair: tuple[RedisBus, RedisBus]) -> None:
    a, b = pair
    got: list[bytes] = []
    subs = [b.subscribe(f"channel:{i}", got.append) for i in range(10_000)]
    started = time.monotonic()
    assert await b.synced(timeout=30)
    assert b.topic_count() == 10_000
    subscribe_s = time.monotonic() - started
    for i in (0, 4_999, 9_999):
        await a.publish(f"channel:{i}", str(i).encode())
    await eventually(lambda: len(got) == 3)
    for sub in subs:
        sub.close()
    assert await b.synced(timeout=30) and b.topic_count() == 0
    assert subscribe_s < 10, subscribe_s


async def test_publish_while_redis_unreachable_drops_quietly() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    drops: list[int] = []
    bus = RedisBus(f"redis://127.0.0.1:{port}/0", on_drop=lambda: drops.append(1))
    await bus.start()
    try:
        got: list[bytes] = []
        bus.subscribe("t", got.append)
        await bus.publish("t", b"still local")  # must not raise
        assert got == [b"still local"]
        assert bus.dropped == 1 and drops == [1]
        assert not bus.connected
    finally:
        await bus.close()


async def kill_pubsub(bus: RedisBus) -> None:
    admin = aioredis.Redis.from_url(REDIS_URL)
    try:
        clients = await admin.client_list(_type="pubsub")
        ids = [c["id"] for c in clients if c.get("name") == bus.client_name]
        assert ids, "the bus has no pub/sub connection to kill"
        for client_id in ids:
            await admin.client_kill_filter(_id=client_id)
    finally:
        await admin.aclose()


async def test_delivery_resumes_after_connection_killed(pair: tuple[RedisBus, RedisBus]
                                                        ) -> None:
    a, b = pair
    got: list[bytes] = []
    for i in range(50):
        b.subscribe(f"d:{i}", got.append)
    assert await b.synced()
    await kill_pubsub(b)  # what CLIENT KILL TYPE pubsub does, to this bus only
    await eventually(lambda: b.reconnects == 1, timeout=10)
    assert await b.synced() and b.topic_count() == 50
    await a.publish("d:49", b"after")
    await eventually(lambda: got == [b"after"])


async def test_reconnect_tells_matching_topics_to_resync(redis_prefix: str) -> None:
    bus = RedisBus(REDIS_URL, prefix=redis_prefix, resync={"device:": b"ctl\ncatch_up"})
    await bus.start()
    try:
        device: list[bytes] = []
        channel: list[bytes] = []
        bus.subscribe("device:D1", device.append)
        bus.subscribe("channel:7", channel.append)
        assert await bus.synced()
        await kill_pubsub(bus)
        await eventually(lambda: bus.reconnects == 1, timeout=10)
        assert device == [b"ctl\ncatch_up"] and channel == []
    finally:
        await bus.close()


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _start_redis() -> None:
    subprocess.run(["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1",
                    "--port", "6379", "--save", "", "--appendonly", "no"], check=True)
    deadline = time.monotonic() + 10
    while not _redis_up():
        if time.monotonic() > deadline:
            raise RuntimeError("redis-server did not come back")
        time.sleep(0.05)


@pytest.mark.redis_restart
@pytest.mark.skipif(not (os.environ.get("CI") == "true"
                         or os.environ.get("TIDINGS_TEST_REDIS_RESTART") == "1"),
                    reason="restarts the shared local Redis; set TIDINGS_TEST_REDIS_RESTART=1")
@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
async def test_delivery_resumes_after_redis_restart(pair: tuple[RedisBus, RedisBus]) -> None:
    a, b = pair
    got: list[bytes] = []
    b.subscribe("room", got.append)
    assert await b.synced()
    assert REDIS_URL.startswith("redis://127.0.0.1:6379")
    try:
        subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", "6379", "shutdown", "nosave"],
                       check=False, capture_output=True)
        await eventually(lambda: not a.connected and not b.connected)
        await a.publish("room", b"lost")  # Redis is down: dropped, never raised
        assert a.dropped >= 1
        await asyncio.sleep(0.3)  # let the backoff grow a little
    finally:
        if not _redis_up():
            await asyncio.to_thread(_start_redis)
    await eventually(lambda: a.connected and b.connected, timeout=20)
    assert await b.synced()
    await a.publish("room", b"back")
    await eventually(lambda: got == [b"back"])
    assert b.reconnects >= 1



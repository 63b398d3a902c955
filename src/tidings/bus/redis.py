"""The bus across server processes: Redis pub/sub, one channel per topic.

Each process keeps its handlers in a ``LocalBus`` and holds one Redis subscription per
topic that has at least one local handler. Plain channels rather than pattern
subscriptions: Redis matches every PUBLISH against every pattern of every client, so a
pattern per device would cost each publish O(all patterns in the cluster), while exact
channels are one hash lookup. SUBSCRIBE and UNSUBSCRIBE are sent in batches of
``SUBSCRIBE_BATCH`` channels, so a process with 10,000 channel topics subscribes in ten
commands, and a topic that comes and goes between two batches costs nothing.

A publish is delivered to this process's own handlers at once and sent to Redis with
this process's origin id in front; the reader drops messages carrying its own id. Local
subscribers so never wait on a Redis round trip and keep working while Redis is down.

When the pub/sub connection breaks (a Redis restart, ``CLIENT KILL``, a network cut),
the reader reconnects with capped exponential backoff and jitter and resubscribes every
topic. Messages published meanwhile are lost to other processes: the bus is never the
record, everything it carries is durable in the store first, and the gateway catches up
from the store by stream position. So a failed publish is logged once per outage,
counted, and dropped; it never raises into a request that has already committed. An
idle subscriber would only notice the gap with its next message, so after each
reconnect the bus hands every local topic matching a ``resync`` prefix a control message
of the subscriber's own format (for device streams: "catch up from the store now").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
from collections.abc import Callable
from functools import partial
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from tidings.bus.base import Bus, Handler, Subscription
from tidings.bus.local import LocalBus

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "tidings:bus:"
ORIGIN_BYTES = 8
SUBSCRIBE_BATCH = 1000
"""Channels per SUBSCRIBE/UNSUBSCRIBE command."""
MAX_DROPPED_TOPICS = 100_000
"""Topics remembered while Redis is away, to tell their subscribers to catch up after."""
RECONNECT_MIN_S = 0.05
RECONNECT_MAX_S = 10.0
"""Backoff between reconnect attempts doubles from MIN to MAX (then stays), with jitter."""
RECONNECT_JITTER = 0.5
"""Each delay is scaled by a random factor in [1 - JITTER, 1], so processes spread out."""
SOCKET_TIMEOUT_S = 2.0
"""Connect and command timeout: a publish must not hold a request when Redis hangs."""
READ_WAIT_S = 1.0
"""How long one read on the pub/sub connection waits before looping (to notice close)."""
HEALTH_CHECK_S = 15
"""PING the pub/sub connection when idle this long, to notice a half-open TCP link."""
START_WAIT_S = 2.0
"""``start`` waits this long for the first connection, then goes on without it."""
CONTROL_CHANNEL = "!control"
"""Always subscribed, so the pub/sub connection exists even with no topics."""


def backoff_s(failures: int) -> float:
    base = min(RECONNECT_MIN_S * 2.0 ** min(failures, 30), RECONNECT_MAX_S)
    return float(base * (1 - RECONNECT_JITTER * random.random()))


class RedisBus(Bus):
    """A ``Bus`` shared by every process that uses the same Redis and prefix."""

    def __init__(self, url: str, *, prefix: str = DEFAULT_PREFIX,
                 on_drop: Callable[[], None] | None = None,
                 on_reconnect: Callable[[], None] | None = None,
                 resync: dict[str, bytes] | None = None) -> None:
        self.url = url
        self.prefix = prefix
        self.origin = secrets.token_bytes(ORIGIN_BYTES)
        self._on_drop = on_drop
        self._on_reconnect = on_reconnect
        self._resync = dict(resync or {})
        self._dropped_topics: set[str] = set()
        self._local = LocalBus()
        self._dirty: set[str] = set()
        self._remote: set[str] = set()
        self._changed = asyncio.Event()
        self._up = False
        self._syncing = False
        self._warned = False
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._publisher: Redis | None = None
        self._subscriber: Redis | None = None
        self.dropped = 0
        self.reconnects = 0

    # --- lifecycle ----------------------------------------------------------------
    def _client(self, retries: int, **extra: Any) -> Redis:
        return Redis.from_url(self.url, socket_timeout=SOCKET_TIMEOUT_S,
                              socket_connect_timeout=SOCKET_TIMEOUT_S,
                              retry=Retry(NoBackoff(), retries), **extra)

    async def start(self) -> None:
        if self._task is not None:
            return
        self._closing = False
        # The publisher retries once, so the first publish after a Redis restart gets
        # through on a fresh connection. The subscriber never retries by itself: redis-py
        # would reconnect and resubscribe behind our back, and we own that (with backoff).
        self._publisher = self._client(1)
        self._subscriber = self._client(0, health_check_interval=HEALTH_CHECK_S,
                                        client_name=self.client_name)
        self._task = asyncio.create_task(self._run(), name="tidings-redis-bus")
        if not await self.synced(START_WAIT_S):
            log.warning("bus: Redis at %s is not reachable yet; serving without live "
                        "fan-out to other processes until it is", self._safe_url())

    def _safe_url(self) -> str:
        return self.url.split("@")[-1]  # never log a password

    async def close(self) -> None:
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for client in (self._publisher, self._subscriber):
            if client is not None:
                with contextlib.suppress(RedisError, OSError):
                    await client.aclose()
        self._publisher = self._subscriber = None
        self._up = False
        await self._local.close()

    @property
    def client_name(self) -> str:
        """The pub/sub connection's CLIENT SETNAME, to find it in ``CLIENT LIST``."""
        return f"tidings-bus-{self.origin.hex()}"

    @property
    def connected(self) -> bool:
        """True while the pub/sub connection is up and subscribed."""
        return self._up

    async def synced(self, timeout: float = 5.0) -> bool:
        """Wait until Redis holds exactly the local topics; False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (self._up and not self._syncing and not self._dirty
                   and not self._changed.is_set()):
            if loop.time() > deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    # --- Bus ----------------------------------------------------------------------
    async def publish(self, topic: str, message: bytes) -> None:
        self._local.deliver(topic, message)
        if self._publisher is None or not self._up:
            self._drop(None, topic)
            return
        try:
            await self._publisher.publish(self.prefix + topic, self.origin + message)
        except (RedisError, OSError) as exc:
            self._drop(exc, topic)
            return
        self._warned = False
        if self._dropped_topics:
            await self._flush_dropped()

    async def _flush_dropped(self) -> None:
        """Tell other processes' subscribers of topics whose publishes this process
        dropped while Redis was away to catch up from the store: their own reconnect
        resync may have run before these publishes were dropped."""
        if self._publisher is None:
            return
        topics, self._dropped_topics = self._dropped_topics, set()
        for topic in topics:
            for prefix, message in self._resync.items():
                if not topic.startswith(prefix):
                    continue
                try:
                    await self._publisher.publish(self.prefix + topic, self.origin + message)
                except (RedisError, OSError):
                    self._dropped_topics.add(topic)

    def _drop(self, exc: BaseException | None, topic: str | None = None) -> None:
        self.dropped += 1
        if topic is not None and len(self._dropped_topics) < MAX_DROPPED_TOPICS:
            self._dropped_topics.add(topic)
        if self._on_drop is not None:
            self._on_drop()
        if not self._warned:
            self._warned = True
            log.warning("bus: Redis unreachable (%s); dropping live fan-out to other "
                        "processes until it is back (clients catch up from the store)",
                        exc or "reconnecting")

    def subscribe(self, topic: str, handler: Handler) -> Subscription:
        first = not self._local.has_topic(topic)
        local = self._local.subscribe(topic, handler)
        if first:
            self._mark(topic)
        return Subscription(partial(self._remove, topic, local))

    def _remove(self, topic: str, local: Subscription) -> None:
        local.close()
        if not self._local.has_topic(topic):
            self._mark(topic)

    def subscriber_count(self) -> int:
        return self._local.subscriber_count()

    def topic_count(self) -> int:
        """Topics this process is subscribed to on Redis (for metrics and tests)."""
        return len(self._remote)

    def _mark(self, topic: str) -> None:
        self._dirty.add(topic)
        self._changed.set()

    # --- the connection -------------------------------------------------------------
    async def _run(self) -> None:
        failures = 0
        while not self._closing:
            assert self._subscriber is not None
            pubsub = self._subscriber.pubsub()
            try:
                await pubsub.subscribe(self.prefix + CONTROL_CHANNEL)
                self._remote = set()
                self._dirty |= set(self._local.topics())
                await self._sync(pubsub)
                self._up = True
                if failures:
                    self.reconnects += 1
                    if self._on_reconnect is not None:
                        self._on_reconnect()
                    self._deliver_resync()
                    await self._flush_dropped()
                    log.info("bus: reconnected to Redis, %d topics resubscribed",
                             len(self._remote))
                failures = 0
                await self._session(pubsub)
            except (RedisError, OSError) as exc:
                if self._up or failures == 0:
                    log.warning("bus: lost the Redis pub/sub connection (%s); reconnecting",
                                exc)
            finally:
                self._up = False
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore]  # typed from redis 8.2
            await asyncio.sleep(backoff_s(failures))
            failures += 1

    def _deliver_resync(self) -> None:
        """Tell local subscribers that messages may have been lost while disconnected."""
        for topic in self._local.topics():
            for prefix, message in self._resync.items():
                if topic.startswith(prefix):
                    self._local.deliver(topic, message)

    async def _session(self, pubsub: PubSub) -> None:
        """Read and (un)subscribe side by side until the connection fails."""
        reader = asyncio.create_task(self._read(pubsub))
        syncer = asyncio.create_task(self._sync_forever(pubsub))
        try:
            done, _ = await asyncio.wait({reader, syncer},
                                         return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        finally:
            for task in (reader, syncer):
                task.cancel()
            for task in (reader, syncer):
                with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
                    await task

    async def _sync_forever(self, pubsub: PubSub) -> None:
        while True:
            await self._changed.wait()
            await self._sync(pubsub)

    async def _sync(self, pubsub: PubSub) -> None:
        """Make the Redis subscriptions match the local topics, in batches."""
        self._changed.clear()
        dirty, self._dirty = self._dirty, set()
        self._syncing = True
        try:
            add = [t for t in dirty if self._local.has_topic(t) and t not in self._remote]
            drop = [t for t in dirty if not self._local.has_topic(t) and t in self._remote]
            for i in range(0, len(add), SUBSCRIBE_BATCH):
                batch = add[i:i + SUBSCRIBE_BATCH]
                await pubsub.subscribe(*(self.prefix + t for t in batch))
                self._remote.update(batch)
            for i in range(0, len(drop), SUBSCRIBE_BATCH):
                batch = drop[i:i + SUBSCRIBE_BATCH]
                await pubsub.unsubscribe(*(self.prefix + t for t in batch))
                self._remote.difference_update(batch)
        except BaseException:
            self._dirty |= dirty  # retried on the next connection
            raise
        finally:
            self._syncing = False

    async def _read(self, pubsub: PubSub) -> None:
        skip = len(self.prefix)
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True,
                                               timeout=READ_WAIT_S)
            if message is None or message.get("type") != "message":
                continue
            data = message["data"]
            if not isinstance(data, bytes) or data[:ORIGIN_BYTES] == self.origin:
                continue
            channel = message["channel"]
            topic = (channel.decode() if isinstance(channel, bytes) else str(channel))[skip:]
            self._local.deliver(topic, data[ORIGIN_BYTES:])

"""Issue #10 end to end: three real ``tidings serve`` OS processes on one PostgreSQL
database and one Redis (see ``cluster.py``). Private messages and channel posts cross
processes live; a SIGKILLed process's clients move to another and resume from their
stream position with nothing lost or doubled; a Redis restart loses nothing; a bank
change on one process changes decisions on another; a job enqueued twice runs once.

The processes are started once for the module (a few seconds); tests use distinct
usernames. The Redis restart test restarts only a redis-server this module started.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import shutil
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.client.helpers import device
from tests.conftest import (
    POSTGRES_URL,
    REDIS_URL,
    REQUIRE_SERVICES,
    _postgres_available,
    bearer,
    login,
    redis_available,
    register,
    reset_postgres,
)
from tests.server.channel_util import channel, internal_id, post
from tests.server.cluster import ADMIN, PASSWORD, Cluster, PrivateRedis
from tests.server.multiprocess_serve import JOB_KIND, JOB_LOG
from tests.services.test_banks import POST, TERROR
from tidings.client.e2ee import Received
from tidings.client.messaging import Undecryptable
from tidings.crypto.identity import DeviceIdentity
from tidings.services.clock import system_clock
from tidings.services.jobs import JobService
from tidings.storage.database import Database
from tidings.storage.jobs import JobStore

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(120)]

BANK_PROPAGATION_S = 10.0


def _services_or_skip() -> None:
    if not asyncio.run(_postgres_available()):
        if REQUIRE_SERVICES:
            pytest.fail(f"PostgreSQL is required but not reachable at {POSTGRES_URL}")
        pytest.skip("PostgreSQL not reachable")
    asyncio.run(reset_postgres())


@pytest.fixture(scope="module")
def private_redis() -> Iterator[PrivateRedis | None]:
    """Our own redis-server when the binary is here, else None (use the shared one)."""
    if shutil.which("redis-server") is None:
        yield None
        return
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory,
            private_redis: PrivateRedis | None) -> Iterator[Cluster]:
    _services_or_skip()
    if private_redis is None and not asyncio.run(redis_available()):
        if REQUIRE_SERVICES:
            pytest.fail(f"Redis is required but not reachable at {REDIS_URL}")
        pytest.skip("Redis not reachable")
    base = tmp_path_factory.mktemp("cluster")
    prefix = f"tidings-test:{secrets.token_hex(6)}:"
    group = Cluster(base / "data", POSTGRES_URL, prefix,
                    redis_url=private_redis.url if private_redis else REDIS_URL)
    try:
        group.setup()
        yield group
    finally:
        group.stop()


# -- small clients --------------------------------------------------------------------

def ws_url(url: str) -> str:
    return url.replace("http://", "ws://") + "/api/v1/ws"


async def enroll(url: str, name: str) -> dict[str, Any]:
    """Register and publish real device keys (the server checks recipients' devices)."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        session = await register(http, name)
        ident = DeviceIdentity.create(name, session["device_id"])
        body = {"device_keys": ident.device_keys().to_json(),
                "one_time_keys": [k.to_json() for k in ident.generate_one_time_keys(2)],
                "fallback_key": ident.fallback_key().to_json()}
        r = await http.post("/api/v1/keys/upload", json=body, headers=bearer(session))
        assert r.status_code == 200, r.text
    return session


@dataclass
class Sender:
    """Sends ``count`` messages one at a time (so their order is causal); on a lost
    connection it reconnects to the next URL and resends the unanswered one with the
    same ``client_id``, which the server answers with the first send's id."""

    session: dict[str, Any]
    to: dict[str, Any]
    urls: list[str]
    count: int
    ids: dict[str, int] = field(default_factory=dict)  # message id -> n
    reconnects: int = 0

    def frame(self, n: int) -> str:
        ct = {"type": 1, "body": base64.b64encode(b"olm:" + n.to_bytes(4, "big") * 40).decode()}
        return json.dumps({"type": "send", "ref": str(n), "client_id": f"c{n}",
                           "to": self.to["username"],
                           "commitment": base64.b64encode(bytes(32)).decode(),
                           "envelopes": [{"device_id": self.to["device_id"],
                                          "ciphertext": ct}]})

    async def run(self, pace_s: float) -> None:
        n, at = 0, 0
        while n < self.count:
            try:
                async with websockets.connect(ws_url(self.urls[at]),
                                              additional_headers=bearer(self.session)) as ws:
                    await ws.send(json.dumps({"type": "hello", "since": 0}))
                    while n < self.count:
                        await ws.send(self.frame(n))
                        while True:
                            reply = json.loads(await asyncio.wait_for(ws.recv(), 15))
                            if reply["type"] == "error":
                                raise AssertionError(reply)
                            if reply["type"] == "sent" and reply["ref"] == str(n):
                                break
                        assert self.ids.setdefault(reply["id"], n) == n
                        n += 1
                        await asyncio.sleep(pace_s)
            except (ConnectionClosed, OSError, InvalidStatus):
                at = (at + 1) % len(self.urls)
                self.reconnects += 1
                await asyncio.sleep(0.1)


@dataclass
class Receiver:
    """Holds a device stream; on a lost connection reconnects to the next URL with
    ``since`` = the last position it saw (it acknowledges only every ``ACK_EVERY``)."""

    session: dict[str, Any]
    urls: list[str]
    seqs: list[int] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    reconnects: int = 0
    live: asyncio.Event = field(default_factory=asyncio.Event)
    ACK_EVERY = 25

    async def run(self, stop: asyncio.Event) -> None:
        at, last, acked = 0, 0, 0
        while not stop.is_set():
            try:
                async with websockets.connect(ws_url(self.urls[at]),
                                              additional_headers=bearer(self.session)) as ws:
                    await ws.send(json.dumps({"type": "hello", "since": last}))
                    while not stop.is_set():
                        try:
                            frame = json.loads(await asyncio.wait_for(ws.recv(), 0.1))
                        except TimeoutError:
                            continue
                        if frame["type"] == "live":
                            self.live.set()
                        elif frame["type"] == "event" and frame["kind"] == "message":
                            self.seqs.append(frame["seq"])
                            self.ids.append(frame["body"]["id"])
                            last = frame["seq"]
                            if last - acked >= self.ACK_EVERY:
                                await ws.send(json.dumps({"type": "ack", "upto": last}))
                                acked = last
            except (ConnectionClosed, OSError, InvalidStatus):
                at = (at + 1) % len(self.urls)
                self.reconnects += 1
                await asyncio.sleep(0.1)


async def until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def run_load(cluster: Cluster, tag: str, receivers_on: list[list[int]],
                   senders_on: list[list[int]], count: int,
                   disrupt: Callable[[], Awaitable[None]]) -> tuple[list[Sender], list[Receiver]]:
    """Sender i sends ``count`` messages to receiver i; ``disrupt`` runs once a third of
    them have arrived. Each list of process indexes is where that client connects first,
    then where it fails over to."""
    rx_sessions = [await enroll(cluster.url(on[0]), f"{tag}rx{i}")
                   for i, on in enumerate(receivers_on)]
    tx_sessions = [await enroll(cluster.url(on[0]), f"{tag}tx{i}")
                   for i, on in enumerate(senders_on)]
    receivers = [Receiver(s, [cluster.url(p) for p in on])
                 for s, on in zip(rx_sessions, receivers_on, strict=True)]
    senders = [Sender(s, r, [cluster.url(p) for p in on], count)
               for s, r, on in zip(tx_sessions, rx_sessions, senders_on, strict=True)]
    stop = asyncio.Event()
    rx_tasks = [asyncio.create_task(r.run(stop)) for r in receivers]
    try:
        await until(lambda: all(r.live.is_set() for r in receivers), 15, "receivers live")
        tx_tasks = [asyncio.create_task(s.run(0.005)) for s in senders]
        total = count * len(senders)
        await until(lambda: sum(len(r.ids) for r in receivers) >= total // 3, 30, "a third")
        await disrupt()
        await asyncio.wait_for(asyncio.gather(*tx_tasks), 60)
        await until(lambda: sum(len(r.ids) for r in receivers) >= total, 30, "every message")
        await asyncio.sleep(0.5)  # anything extra (a duplicate) would arrive by now
    finally:
        stop.set()
        await asyncio.gather(*rx_tasks, return_exceptions=True)
    return senders, receivers


def assert_exactly_once_in_order(senders: list[Sender], receivers: list[Receiver]) -> None:
    for s, r in zip(senders, receivers, strict=True):
        assert len(s.ids) == s.count  # every send was answered with a distinct id
        dupes = [i for i, c in Counter(r.ids).items() if c > 1]
        assert not dupes, f"received twice: {dupes[:5]}"
        assert set(r.ids) == set(s.ids), "lost or foreign messages"
        assert r.seqs == sorted(r.seqs) and len(set(r.seqs)) == len(r.seqs)
        assert [s.ids[i] for i in r.ids] == list(range(s.count)), "out of send order"


# -- the tests ------------------------------------------------------------------------

async def test_private_message_from_process_one_reaches_process_two(
        cluster: Cluster, tmp_path: Path) -> None:
    """Real Olm through the SDK: Alice's device talks to process 1, Bob's to process 2."""
    alice = await device(cluster.url(0), tmp_path, "alice", "phone", first=True)
    bob = await device(cluster.url(1), tmp_path, "bob", "phone", first=True)
    got: list[Received | Undecryptable] = []
    arrived = asyncio.Event()

    def on_message(item: Received | Undecryptable) -> None:
        got.append(item)
        arrived.set()

    listening = asyncio.create_task(bob.receive(timeout=30, on_message=on_message))
    try:
        await asyncio.sleep(1.0)  # Bob's stream has replayed the store and is live
        await alice.send_text("bob", "hello across processes")
        await asyncio.wait_for(arrived.wait(), 10)
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
        await alice.client.close()
        await bob.client.close()
    assert len(got) == 1 and isinstance(got[0], Received)
    assert got[0].sender == "alice" and got[0].text == "hello across processes"


async def test_channel_post_on_process_one_reaches_subscribers_on_two_and_three(
        cluster: Cluster) -> None:
    async with httpx.AsyncClient(base_url=cluster.url(0), timeout=30) as one:
        owner = bearer(await register(one, "scale_owner"))
        await channel(one, owner, "scale_news")
        readers = [await register(one, f"scale_reader{i}") for i in range(4)]
        for r in readers:
            sub = await one.post("/api/v1/channels/scale_news/subscription", headers=bearer(r))
            assert sub.status_code in (200, 201), sub.text
        conns = []
        for i, r in enumerate(readers):
            conn = await websockets.connect(ws_url(cluster.url(1 + i % 2)),
                                            additional_headers=bearer(r))
            await conn.send(json.dumps({"type": "hello", "since": 0}))
            assert json.loads(await asyncio.wait_for(conn.recv(), 10))["type"] == "live"
            conns.append(conn)
        try:
            made = await post(one, owner, "scale_news", "posted on process one")
            for conn in conns:
                while True:
                    frame = json.loads(await asyncio.wait_for(conn.recv(), 10))
                    if frame["type"] == "channel":
                        break
                assert frame["kind"] == "post" and frame["post"]["number"] == made["number"]
                assert frame["post"]["text"] == "posted on process one"
        finally:
            for conn in conns:
                await conn.close()


async def test_bank_entry_on_process_one_changes_decisions_on_process_three(
        cluster: Cluster) -> None:
    async with httpx.AsyncClient(base_url=cluster.url(0), timeout=30) as one, \
            httpx.AsyncClient(base_url=cluster.url(2), timeout=30) as three:
        admin = bearer(await login(one, ADMIN, PASSWORD))
        owner = bearer(await register(three, "bank_owner"))
        await channel(three, owner, "bank_watch")
        before = await three.post("/api/v1/channels/bank_watch/posts", headers=owner,
                                  json={"text": POST, "media": []})
        assert before.status_code == 201, before.text
        created = await one.post("/api/v1/banks", json={"name": "SCALE_TERROR"},
                                 headers=admin)
        assert created.status_code == 201, created.text
        added = await one.post("/api/v1/banks/SCALE_TERROR/entries",
                               json={"text": POST, "labels": TERROR}, headers=admin)
        assert added.status_code == 201, added.text
        start = time.monotonic()
        while True:
            r = await three.post("/api/v1/channels/bank_watch/posts", headers=owner,
                                 json={"text": POST, "media": []})
            if r.status_code == 422:
                assert r.json()["error"]["code"] == "content_rejected"
                break
            assert r.status_code == 201, r.text
            assert time.monotonic() - start < BANK_PROPAGATION_S, "bank change not seen"
            await asyncio.sleep(0.25)


async def test_job_enqueued_twice_runs_once_across_three_processes(cluster: Cluster) -> None:
    db = Database(POSTGRES_URL)
    try:
        a = JobService(db, JobStore(), system_clock)  # as two processes would enqueue
        b = JobService(db, JobStore(), system_clock)
        first = await a.enqueue(JOB_KIND, {"n": "retro"}, dedupe_key="retro_scan:scale")
        second = await b.enqueue(JOB_KIND, {"n": "retro"}, dedupe_key="retro_scan:scale")
        assert first.id == second.id
        many = [await svc.enqueue(JOB_KIND, {"n": i}, dedupe_key=f"scale:{i}")
                for i in range(12) for svc in (a, b)]
        ids = {first.id, *(j.id for j in many)}
        assert len(ids) == 13

        async def states() -> set[str]:
            return {(await a.get(i)).state for i in ids}

        deadline = time.monotonic() + 30
        while await states() != {"done"}:
            assert time.monotonic() < deadline, await states()
            await asyncio.sleep(0.2)
    finally:
        await db.close()
    ran = [line.split() for line in (cluster.data / JOB_LOG).read_text().splitlines()]
    assert Counter(int(job) for _, job, _ in ran) == Counter(ids)  # each exactly once
    pids = {pid for pid, _, _ in ran}
    expected = {str(p.pid) for p in cluster.procs if p is not None}
    assert pids <= expected and len(pids) >= 2, pids


async def test_job_of_a_cleanly_stopped_process_runs_at_once_elsewhere(
        cluster: Cluster) -> None:
    """SIGTERM (a deploy) mid-job: the process hands the job back on its way out, so
    another process reruns it now, not after the lease (``JOB_LEASE_S``) runs out."""
    db = Database(POSTGRES_URL)
    stopped: int | None = None
    try:
        jobs = JobService(db, JobStore(), system_clock)
        job = await jobs.enqueue(JOB_KIND, {"n": "long", "seconds": 3}, dedupe_key="scale:long")
        deadline = time.monotonic() + 15
        while (current := await jobs.get(job.id)).state != "running":
            assert time.monotonic() < deadline, current
            await asyncio.sleep(0.1)
        assert current.leased_by is not None
        holder = int(current.leased_by.split(":")[-2])
        stopped = cluster.index_of(holder)
        cluster.terminate(stopped)
        stopped_at = time.monotonic()
        while (current := await jobs.get(job.id)).state != "done":
            assert time.monotonic() - stopped_at < 15, current  # JOB_LEASE_S is 60
            await asyncio.sleep(0.1)
        # handed back without using up an attempt (JobStore.release)
        assert current.attempts == 1 and current.result is not None
        assert current.result["pid"] != holder
    finally:
        await db.close()
        if stopped is not None and not cluster.alive(stopped):
            cluster.start(stopped)
    runs = [ln.split() for ln in (cluster.data / JOB_LOG).read_text().splitlines()]
    assert [pid for pid, job_id, _ in runs if int(job_id) == job.id] == [
        str(current.result["pid"])]  # the stopped run was cancelled before its write


async def test_sigkill_moves_clients_to_another_process_with_nothing_lost_or_twice(
        cluster: Cluster) -> None:
    """Receivers and one sender on process 2, which is SIGKILLed under load; they move to
    process 3 and resume. The others send from processes 1 and 3 throughout."""

    async def kill_two() -> None:
        cluster.kill(1)

    try:
        senders, receivers = await run_load(
            cluster, "fo", receivers_on=[[1, 2]] * 4,
            senders_on=[[0, 2], [2, 0], [0, 2], [1, 2]], count=150, disrupt=kill_two)
    finally:
        if not cluster.alive(1):
            cluster.start(1)
    assert all(r.reconnects >= 1 for r in receivers)
    assert senders[3].reconnects >= 1
    assert_exactly_once_in_order(senders, receivers)


@pytest.mark.redis_restart
@pytest.mark.skipif(not (os.environ.get("CI") == "true"
                         or os.environ.get("TIDINGS_TEST_REDIS_RESTART") == "1"),
                    reason="restarts Redis; set TIDINGS_TEST_REDIS_RESTART=1")
async def test_redis_restart_under_load_loses_nothing(
        cluster: Cluster, private_redis: PrivateRedis | None) -> None:
    """Only this module's own redis-server is restarted. Clients stay connected; what the
    bus dropped while Redis was down, they read from PostgreSQL after the resync."""
    if private_redis is None:
        pytest.skip("needs redis-server to run a Redis of the test's own")
    redis = private_redis

    async def restart() -> None:
        await asyncio.to_thread(redis.stop)
        await asyncio.sleep(0.5)  # sends keep being stored; live publishes are dropped
        await asyncio.to_thread(redis.start)

    try:
        senders, receivers = await run_load(
            cluster, "rr", receivers_on=[[0, 1], [1, 2], [2, 0]],
            senders_on=[[1, 2], [2, 0], [0, 1]], count=150, disrupt=restart)
    finally:
        if not redis.up():
            redis.start()
    assert_exactly_once_in_order(senders, receivers)
    counts = [await bus_counters(cluster.url(i)) for i in range(3)]
    assert all(reconnects >= 1 for reconnects, _ in counts), counts
    assert sum(dropped for _, dropped in counts) >= 1, counts  # the outage was under load


async def bus_counters(url: str) -> tuple[float, float]:
    """(reconnects, dropped publishes) from a process's /metrics."""
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        text = (await http.get("/metrics")).text
    values = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in ("tidings_bus_reconnects_total", "tidings_bus_publish_dropped_total"):
            values[name] = float(value)
    return (values["tidings_bus_reconnects_total"],
            values["tidings_bus_publish_dropped_total"])


async def test_removed_media_answers_410_on_another_process(cluster: Cluster) -> None:
    """Issue 17: after a removal on process one, process two stops serving the media.
    Polls to a deadline; the latency itself is benchmarks' business, not this test's."""
    from tests.server.channel_util import photo, upload
    async with httpx.AsyncClient(base_url=cluster.url(0), timeout=30) as one, \
            httpx.AsyncClient(base_url=cluster.url(1), timeout=30) as two:
        admin = bearer(await login(one, ADMIN, PASSWORD))
        owner = bearer(await register(one, "media_owner"))
        await channel(one, owner, "media_news")
        media = await upload(one, owner, photo(seed=41))
        assert (await two.get(media["url"])).status_code == 404  # private before use
        made = await post(one, owner, "media_news", "a picture", [media["sha256"]])
        assert (await two.get(media["url"])).status_code == 200
        made_id = await internal_id(one, admin, "media_news", made["number"])
        removed = await one.post(f"/api/v1/admin/posts/{made_id}/remove", headers=admin,
                                 json={})
        assert removed.status_code == 200, removed.text
        deadline = time.monotonic() + 10
        while True:
            status = [(await two.get(u)).status_code
                      for u in (media["url"], media["thumbnail_url"])]
            if status == [410, 410] or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        assert status == [410, 410]

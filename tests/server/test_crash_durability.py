"""Crash durability (issue #12): what the server acknowledged survives SIGKILL.

A real ``tidings serve`` process takes a private-message and channel-post load from
concurrent SDK clients and is SIGKILLed at random moments (``KILLS`` times), then started
again on the same data. Afterwards:

* every message the server acknowledged (a ``sent`` frame on the WebSocket, a 2xx over
  HTTP) reached every device of its recipient, decrypted (real Olm through the SDK);
* every post it acknowledged (HTTP 201) is in the channel's history and update log;
* nothing arrived twice: per-device stream positions strictly increase, no message id
  or post repeats; a send resent after a crash with the same ``client_id`` was stored
  once and answered with the first id;
* order held: each sender's messages arrive in the order it sent them, each poster's
  posts have increasing ids and update-log positions;
* what a device received live is exactly what the store holds (a device that never
  acknowledges reads its whole stream back over HTTP and finds the same positions and
  ids): nothing was delivered before it was durable.

Sends the server never answered may be lost or, if resent with the same id, delivered
exactly once; an abandoned one at most once. The seed is printed; setting
``TIDINGS_CRASH_SEED`` reuses its random choices (kill delays, which cut-off sends are
resent; a live load's interleaving cannot be replayed exactly). Run with ``-rP`` to see
the summary line, which gives the figures quoted in docs/operating.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from tests.client.helpers import device
from tests.conftest import fresh_database
from tests.server.crash_load import (
    Books,
    HttpSender,
    Poster,
    Receiver,
    Sender,
    ServerProcess,
    WsSender,
    channel_history,
    channel_log,
    parse_text,
    stored_messages,
    text_of,
)
from tidings.client.messaging import Messenger
from tidings.client.sdk import TidingsClient
from tidings.storage import migrate
from tidings.storage.database import Database

pytestmark = pytest.mark.timeout(180)

KILLS = 5
MIN_ACKS_PER_BURST = 6
"""Each burst runs until the clients have this many new answers, then a random while
longer, so every kill lands under load."""
BURST_EXTRA_S = (0.0, 1.2)
DOWN_S = (0.0, 0.2)
RETRY_CHANCE = 0.75
CONVERGE_S = 20.0
BURST_TIMEOUT_S = 60.0
CHANNEL = "crash_news"
PASSWORD = "a long enough passphrase"


async def until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_acknowledged_messages_and_posts_survive_sigkill(
        db_kind: str, tmp_path: Path) -> None:
    seed = int(os.environ.get("TIDINGS_CRASH_SEED") or random.randrange(2**32))
    print(f"crash durability [{db_kind}]: seed {seed} (TIDINGS_CRASH_SEED={seed} reuses it)")
    rng = random.Random(seed)
    began = time.monotonic()
    url = await fresh_database(db_kind, tmp_path)
    if db_kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'tidings.db'}"
        (tmp_path / "data").mkdir()
    db = Database(url)
    await migrate.upgrade(db)
    await db.close()
    server = ServerProcess(tmp_path / "data", url)
    await server.start()
    server.make_spares(KILLS)  # they import while the clients are set up
    clients: list[TidingsClient] = []
    try:
        senders, receivers, posters = await cast(server.url, tmp_path, seed, clients)
        load_began = time.monotonic()
        stop, stop_rx = asyncio.Event(), asyncio.Event()
        rx_tasks = [asyncio.create_task(r.run(stop_rx)) for r in receivers]
        tx_tasks = [asyncio.create_task(s.run(stop)) for s in [*senders, *posters]]
        books = [s.books for s in [*senders, *posters]]

        def answered() -> int:
            return sum(len(b.acked) for b in books)

        def failed() -> BaseException | None:
            for task in [*rx_tasks, *tx_tasks]:
                if task.done() and task.exception() is not None:
                    return task.exception()
            return None

        async def burst(target: int) -> None:
            """Load until ``target`` answers and the spare server is ready."""
            await until(lambda: (answered() >= target and server.spare_ready())
                        or failed() is not None, BURST_TIMEOUT_S, "load between kills")

        try:
            for _ in range(KILLS):
                await burst(answered() + MIN_ACKS_PER_BURST)
                await asyncio.sleep(rng.uniform(*BURST_EXTRA_S))
                if (error := failed()) is not None:
                    raise error
                server.kill()
                await asyncio.sleep(rng.uniform(*DOWN_S))
                await server.start()
            await burst(answered() + MIN_ACKS_PER_BURST)
            stop.set()
            await asyncio.wait_for(asyncio.gather(*tx_tasks), 60)
            # No assertion here: if something never arrives, verify() says what.
            with contextlib.suppress(AssertionError):
                await until(lambda: all(receiver_complete(r, senders) for r in receivers)
                            or bool(failed()), CONVERGE_S, "every acknowledged message")
            await asyncio.sleep(0.5)  # a duplicate, if any, would arrive by now
        finally:
            stop.set()
            stop_rx.set()
            done = await asyncio.gather(*rx_tasks, *tx_tasks, return_exceptions=True)
        for result in done:
            if isinstance(result, BaseException):
                raise result
        checked = await verify(senders, receivers, posters, clients[-1])
    finally:
        for client in clients:
            await client.close()
        server.stop()
    lost_sends = sum(s.books.unanswered for s in senders)
    lost_posts = sum(p.books.unanswered for p in posters)
    assert lost_sends + lost_posts >= 1, "no kill caught a send in flight: nothing tested"
    messages, deliveries, posts = checked
    print(f"crash durability [{db_kind}]: seed {seed}: {server.kills} kills survived, "
          f"{messages} messages checked ({deliveries} device deliveries), {posts} posts "
          f"checked; cut off by a kill: {lost_sends} sends "
          f"({sum(s.books.retried for s in senders)} resent with the same id), "
          f"{lost_posts} posts; {time.monotonic() - began:.1f} s in all: setup "
          f"{load_began - began:.1f} s (cold start {server.start_s[0]:.1f} s), "
          f"{time.monotonic() - load_began:.1f} s under load, restarts took "
          f"{min(server.start_s[1:]):.1f}-{max(server.start_s[1:]):.1f} s")
    assert server.kills >= KILLS


async def cast(url: str, tmp: Path, seed: int, clients: list[TidingsClient]
               ) -> tuple[list[Sender], list[Receiver], list[Poster]]:
    """Two readers with two devices each (one acknowledges, one never does); four
    single-device senders, two on the WebSocket and two over HTTP, each writing to one
    reader; a channel owner and an admin posting to one channel."""
    readers: dict[str, list[Messenger]] = {}
    for name in ("reader0", "reader1"):
        readers[name] = [await device(url, tmp, name, "d0", first=True),
                         await device(url, tmp, name, "d1", first=False)]
    senders: list[Sender] = []
    for i, kind in enumerate((WsSender, WsSender, HttpSender, HttpSender)):
        m = await device(url, tmp, f"sender{i}", "phone", first=True)
        chance = random.Random(f"{seed}:sender{i}").random  # its own: timing-proof
        senders.append(kind(m, f"reader{i % 2}", chance, RETRY_CHANCE))
    receivers: list[Receiver] = []
    for name, devices in readers.items():
        for i, m in enumerate(devices):
            # Pin the senders' keys now, so decrypting never needs the server.
            await m.query([s.books.name for s in senders if s.to == name])
            receivers.append(Receiver(m, ack_every=16 if i == 0 else 0))
    owner = TidingsClient(url)
    editor = TidingsClient(url)
    await owner.register("chanowner", PASSWORD, "phone")
    await editor.register("chaneditor", PASSWORD, "phone")
    await owner.create_channel(CHANNEL, "Crash news")
    await owner.set_channel_admin(CHANNEL, "chaneditor", can_post=True)
    posters = [Poster(owner, "chanowner", CHANNEL), Poster(editor, "chaneditor", CHANNEL)]
    clients.extend([*(m.client for ms in readers.values() for m in ms),
                    *(s.messenger.client for s in senders), editor, owner])
    return senders, receivers, posters


def receiver_complete(r: Receiver, senders: Sequence[Sender]) -> bool:
    user = r.messenger.user
    want = {i for s in senders if s.to == user for i in s.books.acked.values()}
    return want <= r.ids()


async def verify(senders: Sequence[Sender], receivers: Sequence[Receiver],
                 posters: Sequence[Poster], reader: TidingsClient) -> tuple[int, int, int]:
    """All the checks; returns (messages, device deliveries, posts) checked."""
    deliveries = 0
    for s in senders:
        ids = list(s.books.acked.values())
        assert len(set(ids)) == len(ids), f"{s.books.name}: two sends answered with one id"
    for r in receivers:
        assert not r.problems, r.problems
        mine = [s for s in senders if s.to == r.messenger.user]
        check_deliveries(r, [s.books for s in mine])
        deliveries += len(r.deliveries)
        if not r.ack_every:
            stored = await stored_messages(r.messenger.client)
            live = [(d.seq, d.id) for d in r.deliveries]
            assert stored == live, f"{r.device_id}: live delivery differs from the store"
    await check_posts(posters, reader)
    messages = sum(len(s.books.acked) for s in senders)
    return messages, deliveries, sum(len(p.books.acked) for p in posters)


def check_deliveries(r: Receiver, books: Sequence[Books]) -> None:
    seqs = [d.seq for d in r.deliveries]
    assert seqs == sorted(set(seqs)), f"{r.device_id}: positions not strictly increasing"
    twice = [i for i, c in Counter(d.id for d in r.deliveries).items() if c > 1]
    assert not twice, f"{r.device_id}: delivered twice: {twice[:5]}"
    for b in books:
        got = [d for d in r.deliveries if d.sender == b.name]
        numbers = [d.n for d in got]
        assert len(set(numbers)) == len(numbers), f"{r.device_id}: {b.name} sent twice"
        assert numbers == sorted(numbers), f"{r.device_id}: {b.name}'s order broken"
        assert set(numbers) <= b.attempted(), f"{r.device_id}: {b.name} never sent these"
        by_n = {d.n: d.id for d in got}
        for n, message_id in b.acked.items():
            assert by_n.get(n) == message_id, (
                f"{r.device_id}: acknowledged {text_of(b.name, n)} ({message_id}) "
                f"{'lost' if n not in by_n else 'delivered as ' + by_n[n]}")
    assert {d.sender for d in r.deliveries} <= {b.name for b in books}


async def check_posts(posters: Sequence[Poster], reader: TidingsClient) -> None:
    history = await channel_history(reader, CHANNEL)
    log = [u for u in await channel_log(reader, CHANNEL) if u["kind"] == "post"]
    ids = [p["number"] for p in history]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
    seqs = [u["seq"] for u in log]
    assert seqs == sorted(set(seqs)), "update log positions not strictly increasing"
    assert sorted(u["post"]["number"] for u in log) == sorted(ids), "log and history differ"
    texts = Counter(p["text"] for p in history)
    assert all(c == 1 for c in texts.values()), "a post stored twice"
    for p in posters:
        b = p.books
        mine = sorted((parse_text(post["text"])[1], post["number"]) for post in history
                      if parse_text(post["text"])[0] == b.name)
        numbers = [n for n, _ in mine]
        assert set(numbers) <= b.attempted(), f"{b.name}: posts never sent"
        assert [i for _, i in mine] == sorted(i for _, i in mine), f"{b.name}: order broken"
        in_log = [parse_text(u["post"]["text"])[1] for u in log
                  if parse_text(u["post"]["text"])[0] == b.name]
        assert in_log == numbers, f"{b.name}: update log out of order"
        stored = dict(mine)
        for n, post_id in b.acked.items():
            assert str(stored.get(n)) == post_id, (
                f"acknowledged post {text_of(b.name, n)} ({post_id}) lost")
    assert set(texts) <= {text_of(p.books.name, n) for p in posters for n in
                          p.books.attempted()}

"""Group commit on SQLite and PostgreSQL: batching, durability, isolation of failures."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from tidings.storage.accounts import AccountStore
from tidings.storage.committer import AppendJob, Dedup, GroupCommitter
from tidings.storage.database import Database
from tidings.storage.messages import SentStore
from tidings.storage.records import StreamEvent
from tidings.storage.streams import StreamStore


async def _devices(db: Database, *ids: str) -> None:
    async with db.write() as conn:
        user = await AccountStore().create_user(conn, "alice", "h", "user", 1)
        for d in ids:
            await AccountStore().create_device(conn, user.id, d, "phone", f"tok-{d}", 1)


def _job(i: int, *devices: str, client_id: str | None = None) -> AppendJob:
    dedup = Dedup("D1", client_id or f"c{i}", f"M{i}", 1000 + i)
    return AppendJob([(d, "message", f'{{"i":{i}}}') for d in devices], dedup)


async def test_concurrent_sends_share_commits_and_are_durable_when_answered(
        database: Database) -> None:
    await _devices(database, "D1", "D2", "D3")
    published: list[StreamEvent] = []

    async def publish(events: Sequence[StreamEvent]) -> None:
        published.extend(events)

    committer = GroupCommitter(database, StreamStore(), SentStore(), lambda: 5, publish)
    try:
        async def send(i: int) -> None:
            done = await committer.append(_job(i, "D2", "D3"))
            assert (done.message_id, done.ts, done.duplicate) == (f"M{i}", 1000 + i, False)
            # answered means committed: a fresh connection sees it
            async with database.read() as conn:
                seqs = {e.body for e in await StreamStore().read(conn, "D2", 0, 1000)}
            assert f'{{"i":{i}}}' in seqs

        await asyncio.gather(*(send(i) for i in range(200)))
        assert committer.batches < 200  # grouped
        assert len(published) == 400
        for device in ("D2", "D3"):
            seqs = [e.seq for e in published if e.device_id == device]
            assert seqs == list(range(1, 201))  # published in commit order
    finally:
        await committer.close()


async def test_retry_is_answered_once_and_acks_delete(database: Database) -> None:
    await _devices(database, "D1", "D2")
    committer = GroupCommitter(database, StreamStore(), SentStore(), lambda: 5)
    try:
        first, second = await asyncio.gather(
            committer.append(_job(1, "D2", client_id="same")),
            committer.append(_job(2, "D2", client_id="same")))
        third = await committer.append(_job(3, "D2", client_id="same"))
        assert first.message_id == second.message_id == third.message_id == "M1"
        assert (first.duplicate, second.duplicate, third.duplicate) == (False, True, True)
        async with database.read() as conn:
            assert len(await StreamStore().read(conn, "D2", 0, 10)) == 1
        assert await committer.ack("D2", 1) == 1
        async with database.read() as conn:
            assert await StreamStore().read(conn, "D2", 0, 10) == []
    finally:
        await committer.close()


async def test_a_failing_batch_fails_only_the_bad_job(database: Database) -> None:
    await _devices(database, "D1", "D2")

    class Boom(StreamStore):
        def append_batch_plan(self, items, now, dialect):  # type: ignore[no-untyped-def]
            if any(body == "poison" for _, _, body in items):
                raise RuntimeError("poison")
            return super().append_batch_plan(items, now, dialect)

    committer = GroupCommitter(database, Boom(), SentStore(), lambda: 5)
    try:
        good = [committer.append(_job(i, "D2")) for i in range(5)]
        bad = committer.append(AppendJob([("D2", "message", "poison")]))
        results = await asyncio.gather(*good, bad, return_exceptions=True)
        assert all(not isinstance(r, BaseException) for r in results[:5])
        assert isinstance(results[5], RuntimeError)
        async with database.read() as conn:
            assert len(await StreamStore().read(conn, "D2", 0, 10)) == 5
    finally:
        await committer.close()


async def test_a_failed_publish_neither_fails_nor_repeats_committed_work(
        database: Database) -> None:
    """Publishing runs after the commit: if it raises, the batch is durable already, so
    every submitter gets its answer and nothing is applied a second time (a job without
    an idempotency key would otherwise be stored, and delivered, twice)."""
    await _devices(database, "D1", "D2")
    calls: list[int] = []

    async def publish(events: Sequence[StreamEvent]) -> None:
        calls.append(len(events))
        if len(calls) == 1:
            raise ConnectionError("bus away")

    committer = GroupCommitter(database, StreamStore(), SentStore(), lambda: 5, publish)
    try:
        jobs = [AppendJob([("D2", "otk_count", f'{{"count":{i}}}')]) for i in range(5)]
        done = await asyncio.gather(*(committer.append(j) for j in jobs),
                                    return_exceptions=True)
        assert all(not isinstance(d, BaseException) for d in done), done
        async with database.read() as conn:
            stored = await StreamStore().read(conn, "D2", 0, 100)
        assert sorted(e.body for e in stored) == sorted(j.items[0][2] for j in jobs)
        assert [e.seq for e in stored] == list(range(1, 6))
    finally:
        await committer.close()


async def test_close_drains_queued_work(database: Database) -> None:
    await _devices(database, "D1", "D2")
    committer = GroupCommitter(database, StreamStore(), SentStore(), lambda: 5)
    tasks = [asyncio.create_task(committer.append(_job(i, "D2"))) for i in range(50)]
    await asyncio.sleep(0)
    await committer.close()
    done = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(not isinstance(d, BaseException) for d in done)


async def test_prune_forgets_old_idempotency_rows_inside_a_batch(database: Database) -> None:
    await _devices(database, "D1", "D2")
    committer = GroupCommitter(database, StreamStore(), SentStore(), lambda: 5)
    try:
        await committer.append(_job(1, "D2"))  # ts 1001
        assert await committer.prune_sent(before=1000) == 0
        # a prune and a send queued together share one transaction
        pruned, kept = await asyncio.gather(committer.prune_sent(before=5000),
                                            committer.append(_job(5000, "D2")))
        assert pruned == 1 and not kept.duplicate
        async with database.read() as conn:
            assert await SentStore().count(conn) == 1
        # the pruned send's idempotency key is forgotten: a retry is stored as new
        again = await committer.append(_job(1, "D2"))
        assert not again.duplicate
    finally:
        await committer.close()

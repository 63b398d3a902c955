"""The job queue and runners on SQLite and a real PostgreSQL: dedupe, exactly-once
across runners with their own connections, retries, and recovery from a dead runner."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tidings.protocol.errors import BadRequest, NotFound
from tidings.services.clock import system_clock
from tidings.services.jobs import JobContext, JobRunner, JobService, LeaseLost
from tidings.storage.database import Database
from tidings.storage.jobs import JobStore

FAST: dict[str, Any] = {"lease_ms": 600, "heartbeat_s": 0.1, "poll_s": 0.05,
                        "retry_base_ms": 10}


def service(db: Database) -> JobService:
    return JobService(db, JobStore(), system_clock)


async def wait_for(check: Callable[[], Any], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


@pytest.fixture
async def runners() -> AsyncIterator[list[JobRunner]]:
    made: list[JobRunner] = []
    yield made
    for runner in made:
        await runner.stop()


async def test_enqueue_get_and_dedupe(database: Database) -> None:
    svc = service(database)
    first = await svc.enqueue("retro_scan", {"bank": 7}, dedupe_key="retro_scan:7")
    again = await svc.enqueue("retro_scan", {"bank": 7}, dedupe_key="retro_scan:7")
    other = await svc.enqueue("retro_scan", {"bank": 8}, dedupe_key="retro_scan:8")
    assert again.id == first.id != other.id
    got = await svc.get(first.id)
    assert (got.state, got.payload, got.attempts) == ("queued", {"bank": 7}, 0)
    with pytest.raises(NotFound):
        await svc.get(999_999)
    with pytest.raises(BadRequest):
        await svc.enqueue("x" * 100)
    # Once it is done, the same key queues a new run.
    [claimed] = await svc.claim(["retro_scan"], "w1", 1, 60_000)
    assert claimed.id == first.id and claimed.attempts == 1 and claimed.leased_by == "w1"
    assert await svc.finish(first.id, "w1", {"matched": 0}, 10, 10)
    fresh = await svc.enqueue("retro_scan", {"bank": 7}, dedupe_key="retro_scan:7")
    assert fresh.id != first.id
    done = await svc.get(first.id)
    assert (done.state, done.result, done.progress_done) == ("done", {"matched": 0}, 10)


async def test_recent_jobs_newest_first_by_state_and_kind(database: Database) -> None:
    svc = service(database)
    scans = [await svc.enqueue("retro_scan", {"n": n}) for n in range(3)]
    other = await svc.enqueue("webhook_deliver", {"n": 9})
    [claimed] = await svc.claim(["webhook_deliver"], "w1", 1, 60_000)
    assert [j.id for j in await svc.recent()] == [other.id] + [j.id for j in scans[::-1]]
    assert [j.id for j in await svc.recent(kind="retro_scan", limit=2)] == [
        scans[2].id, scans[1].id]
    assert [j.id for j in await svc.recent(state="running")] == [claimed.id]
    assert await svc.recent(state="failed") == []
    with pytest.raises(BadRequest):
        await svc.recent(state="stuck")


async def test_claim_respects_kind_run_after_and_leases(database: Database) -> None:
    svc = service(database)
    later = await svc.enqueue("a", delay_ms=60_000)
    now = await svc.enqueue("a")
    await svc.enqueue("b")
    claimed = await svc.claim(["a"], "w1", 10, 60_000)
    assert [j.id for j in claimed] == [now.id]
    assert await svc.claim(["a"], "w2", 10, 60_000) == []  # leased, and `later` not due
    assert not await svc.finish(now.id, "w2", None, 0, None)  # not w2's to finish
    assert await svc.extend([now.id, later.id], "w1", 60_000) == {now.id}


async def test_fifty_jobs_run_exactly_once_across_three_runners(
        database: Database, runners: list[JobRunner]) -> None:
    runs: Counter[int] = Counter()
    workers: Counter[str] = Counter()

    async def handler(ctx: JobContext) -> dict[str, Any]:
        runs[ctx.job.id] += 1
        workers[ctx.job.leased_by or ""] += 1
        await asyncio.sleep(0.01)
        return {"n": ctx.payload["n"]}

    # Each runner has its own Database (its own engine and pool), as separate processes
    # would; on SQLite they share one file.
    dbs = [Database(database.url) for _ in range(3)]
    try:
        ids = [(await service(database).enqueue("count", {"n": i})).id for i in range(50)]
        for db in dbs:
            # A lease far longer than any job here: a loaded machine with three SQLite
            # engines contending for the write lock must not look like dead runners.
            runner = JobRunner(service(db), concurrency=4,
                               **{**FAST, "lease_ms": 20_000, "heartbeat_s": 1.0})
            runner.register("count", handler)
            runner.start()
            runners.append(runner)
        svc = service(database)

        async def all_done() -> bool:
            states = [(await svc.get(i)).state for i in ids]
            return all(state == "done" for state in states)

        await wait_for(all_done, timeout=60)
        assert runs == Counter(dict.fromkeys(ids, 1))
        assert len(workers) >= 2, workers  # the work really was shared
        for i, job_id in enumerate(ids):
            job = await svc.get(job_id)
            assert job.result == {"n": i} and job.attempts == 1
    finally:
        for runner in runners:
            await runner.stop()
        for db in dbs:
            await db.close()


async def test_a_runner_that_dies_mid_job_is_replaced_after_its_lease(
        database: Database, runners: list[JobRunner]) -> None:
    started = asyncio.Event()
    attempts: list[str] = []

    async def handler(ctx: JobContext) -> dict[str, Any]:
        attempts.append(ctx.job.leased_by or "")
        await ctx.progress(3, 10)
        if len(attempts) == 1:
            started.set()
            await asyncio.Event().wait()  # hangs until its runner dies
        return {"by": ctx.job.leased_by}

    svc = service(database)
    doomed = JobRunner(svc, worker_id="doomed", **FAST)
    doomed.register("scan", handler)
    doomed.start()
    job = await svc.enqueue("scan", {"bank": 1})
    await asyncio.wait_for(started.wait(), 10)
    assert (await svc.get(job.id)).progress_done == 3
    await doomed.abandon()  # the process dies: no release, no more heartbeats
    rescuer = JobRunner(service(database), worker_id="rescuer", **FAST)
    rescuer.register("scan", handler)
    rescuer.start()
    runners.append(rescuer)

    async def done() -> bool:
        return (await svc.get(job.id)).state == "done"

    began = time.monotonic()
    await wait_for(done)
    final = await svc.get(job.id)
    assert attempts == ["doomed", "rescuer"]
    assert final.result == {"by": "rescuer"} and final.attempts == 2
    assert time.monotonic() - began >= 0.3  # it waited for the lease to expire


async def test_failures_retry_then_fail_for_good(database: Database,
                                                 runners: list[JobRunner]) -> None:
    calls = 0

    async def broken(ctx: JobContext) -> None:
        nonlocal calls
        calls += 1
        raise ValueError("the bank is gone")

    svc = service(database)
    runner = JobRunner(svc, **FAST)
    runner.register("broken", broken)
    runner.start()
    runners.append(runner)
    job = await svc.enqueue("broken", max_attempts=3, dedupe_key="broken:1")

    async def failed() -> bool:
        return (await svc.get(job.id)).state == "failed"

    await wait_for(failed)
    final = await svc.get(job.id)
    assert calls == 3 and final.attempts == 3
    assert final.error is not None and "the bank is gone" in final.error
    assert final.dedupe_key is None


async def test_clean_stop_hands_jobs_back(database: Database) -> None:
    started = asyncio.Event()

    async def slow(ctx: JobContext) -> None:
        started.set()
        await asyncio.sleep(60)

    svc = service(database)
    runner = JobRunner(svc, **FAST)
    runner.register("slow", slow)
    runner.start()
    job = await svc.enqueue("slow")
    await asyncio.wait_for(started.wait(), 10)
    await runner.stop()
    back = await svc.get(job.id)
    assert (back.state, back.attempts, back.leased_by) == ("queued", 0, None)


async def test_progress_after_takeover_raises_lease_lost(database: Database) -> None:
    svc = service(database)
    await svc.enqueue("k")
    [claimed] = await svc.claim(["k"], "old", 1, 1)
    await asyncio.sleep(0.01)
    [again] = await svc.claim(["k"], "new", 1, 60_000)  # the old lease expired
    assert again.id == claimed.id and again.attempts == 2
    ctx = JobContext(claimed, svc, "old")
    with pytest.raises(LeaseLost):
        await ctx.progress(1, 2)


async def test_finished_jobs_are_purged_after_retention(database: Database) -> None:
    svc = service(database)
    done = await svc.enqueue("k")
    queued = await svc.enqueue("other")
    await svc.claim(["k"], "w", 1, 60_000)
    assert await svc.finish(done.id, "w", None, 0, None)
    assert await svc.purge(retention_ms=60_000) == 0  # too recent
    await asyncio.sleep(0.01)
    assert await svc.purge(retention_ms=1) == 1
    with pytest.raises(NotFound):
        await svc.get(done.id)
    assert (await svc.get(queued.id)).state == "queued"  # unfinished jobs stay

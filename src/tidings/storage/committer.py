"""Group commit for the hot path: many sends and acks, one transaction, one fsync.

SQLite with ``synchronous=FULL`` pays one fsync per commit, and a message is answered
only once it is durable, so one transaction per message caps throughput at the disk's
fsync rate. Here concurrent submitters put jobs on a queue; one writer task takes
whatever has queued up (at most ``COMMIT_BATCH_MAX``), applies it all in one write
transaction with a handful of statements, commits, publishes the new stream events
on the bus in commit order, and only then resolves each submitter's future. Under low
load a batch is one job and latency is one commit; under high load the batch grows
and the fsync cost is shared (the classic group commit of database logs).

If a batch's transaction fails as a whole (a lost connection, a PostgreSQL deadlock
with a writer outside the committer), every job is retried alone, so one poisoned job
fails only its own submitter. Publishing is not part of that: once the commit is
done the jobs are answered whatever the bus does (their events are durable, and a
connection reads what it missed from the store at its next gap or reconnect), so a
failed publish never makes a committed batch be applied a second time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from tidings.protocol import limits
from tidings.storage.database import Database
from tidings.storage.group_schema import expiring_events
from tidings.storage.messages import SentStore
from tidings.storage.plan import Plan, run_async, run_sync
from tidings.storage.records import StreamEvent
from tidings.storage.streams import StreamStore

log = logging.getLogger(__name__)

Clock = Callable[[], int]
Publish = Callable[[Sequence[StreamEvent]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Dedup:
    """Idempotency key of a send and the answer to give if it is new."""

    device_id: str
    client_id: str
    message_id: str
    ts: int


@dataclass(frozen=True, slots=True)
class AppendJob:
    items: Sequence[tuple[str, str, str]]
    """``(device_id, kind, body_json)`` stream items."""
    dedup: Dedup | None = None
    inserts: Sequence[tuple[sa.Table, dict[str, Any]]] = ()
    """Rows stored in the same transaction, before the events (only if not a duplicate):
    a group message's one ciphertext, which its events refer to."""
    expires_at: int | None = None
    """A disappearing message: its events are deleted undelivered after this time."""


@dataclass(frozen=True, slots=True)
class AckJob:
    device_id: str
    upto: int


@dataclass(frozen=True, slots=True)
class PruneJob:
    """Forget idempotency rows older than ``before``, inside the next batch: the
    deletion shares that batch's commit instead of taking the write turn (and an fsync)
    of its own while sends queue behind it."""

    before: int


@dataclass(frozen=True, slots=True)
class Appended:
    message_id: str
    ts: int
    events: Sequence[StreamEvent]
    duplicate: bool


Job = AppendJob | AckJob | PruneJob


@dataclass(slots=True)
class _Pending:
    job: Job
    future: asyncio.Future[Appended | int] = field(repr=False)


class GroupCommitter:
    def __init__(self, db: Database, streams: StreamStore, sent: SentStore, clock: Clock,
                 publish: Publish | None = None, batch_max: int = limits.COMMIT_BATCH_MAX
                 ) -> None:
        self.db = db
        self.streams = streams
        self.sent = sent
        self.clock = clock
        self.publish = publish
        self.batch_max = batch_max
        self.batches = 0
        """Transactions committed; tests compare it with the number of jobs."""
        self._queue: asyncio.Queue[_Pending] | None = None
        self._task: asyncio.Task[None] | None = None
        self._busy = False
        self._writer = _WriterThread(self._apply_sync)
        """One thread: the SQLite connection it writes with never changes threads."""

    async def append(self, job: AppendJob) -> Appended:
        result = await self._submit(job)
        assert isinstance(result, Appended)
        return result

    async def ack(self, device_id: str, upto: int) -> int:
        result = await self._submit(AckJob(device_id, upto))
        assert isinstance(result, int)
        return result

    async def prune_sent(self, before: int) -> int:
        """Delete idempotency rows older than ``before``; how many were deleted."""
        result = await self._submit(PruneJob(before))
        assert isinstance(result, int)
        return result

    async def _submit(self, job: Job) -> Appended | int:
        if self._queue is None or self._task is None or self._task.done():
            self._queue = asyncio.Queue(limits.COMMIT_QUEUE_MAX)
            self._task = asyncio.create_task(self._run(self._queue), name="group-commit")
        future: asyncio.Future[Appended | int] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(job, future))
        return await future

    async def close(self, drain_s: float = 5.0) -> None:
        """Finish what is queued (up to ``drain_s``), then stop the writer task."""
        if self._queue is not None and self._task is not None and not self._task.done():
            loop = asyncio.get_running_loop()
            deadline = loop.time() + drain_s
            while (not self._queue.empty() or self._busy) and loop.time() < deadline:
                await asyncio.sleep(0.01)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._writer.stop()
        if self._queue is not None:
            while not self._queue.empty():
                pending = self._queue.get_nowait()
                if not pending.future.done():
                    pending.future.set_exception(RuntimeError("server shutting down"))

    async def _run(self, queue: asyncio.Queue[_Pending]) -> None:
        while True:
            batch = [await queue.get()]
            # One turn of the loop first: sends whose frames arrived in the same turn
            # reach the queue and share this commit (docs/benchmarks.md, fourth pass).
            await asyncio.sleep(0)
            while len(batch) < self.batch_max and not queue.empty():
                batch.append(queue.get_nowait())
            self._busy = True
            try:
                await self._commit(batch)
            except Exception as exc:  # noqa: BLE001 - retried one by one below
                if len(batch) == 1:
                    _fail(batch[0], exc)
                    continue
                log.warning("group commit of %d jobs failed (%s); retrying singly",
                            len(batch), type(exc).__name__)
                for pending in batch:
                    try:
                        await self._commit([pending])
                    except Exception as single:  # noqa: BLE001 - reported to its submitter
                        _fail(pending, single)
            finally:
                self._busy = False

    async def _commit(self, batch: list[_Pending]) -> None:
        jobs = [p.job for p in batch]
        if self.db.is_sqlite:
            # The whole transaction in one hop to the writer thread (see storage/plan.py).
            async with self.db.write_lock():
                results = await self._writer.run(jobs)
        else:
            async with self.db.write() as conn:
                results = await run_async(conn, self._plan(jobs))
        self.batches += 1
        events = [e for r in results if isinstance(r, Appended) for e in r.events]
        if self.publish is not None and events:
            try:
                await self.publish(events)
            except Exception:
                # Committed: answer, never apply twice (raising would retry the batch).
                # A live connection reads these from the store at its next gap.
                log.exception("publishing %d committed events failed", len(events))
        for pending, result in zip(batch, results, strict=True):
            if not pending.future.done():
                pending.future.set_result(result)

    def _apply_sync(self, jobs: list[Job]) -> list[Appended | int]:
        """Runs in the committer's own thread: BEGIN IMMEDIATE ... COMMIT (fsync)."""
        with self.db.sync_engine().connect() as conn:
            conn = conn.execution_options(tidings_begin="IMMEDIATE")
            with conn.begin():
                return run_sync(conn, self._plan(jobs))

    def _plan(self, jobs: list[Job]) -> Plan[list[Appended | int]]:
        """Apply jobs with a fixed handful of statements, however many jobs there are:
        one dedup lookup, one counter update, one event insert, one idempotency insert,
        one delete for all acks."""
        # SQLite runs this on its sync path, where the hot statements are prepared
        # sqlite3 statements (storage/plan.py, Raw); PostgreSQL runs SQLAlchemy Core.
        dialect = self.db.dialect
        known = yield from self.sent.lookup_many_plan(
            [(j.dedup.device_id, j.dedup.client_id) for j in jobs
             if isinstance(j, AppendJob) and j.dedup], dialect)
        now = self.clock()
        items: list[tuple[str, str, str]] = []
        fresh: list[Dedup] = []
        owners: list[int] = []  # job index of each item
        rows: dict[sa.Table, list[dict[str, Any]]] = {}
        results: list[Appended | int | None] = []
        for index, job in enumerate(jobs):
            if not isinstance(job, AppendJob):
                results.append(None)
                continue
            if job.dedup is not None:
                key = (job.dedup.device_id, job.dedup.client_id)
                if key in known:
                    message_id, ts = known[key]
                    results.append(Appended(message_id, ts, (), True))
                    continue
                known[key] = (job.dedup.message_id, job.dedup.ts)
                fresh.append(job.dedup)
            results.append(None)
            for table, row in job.inserts:
                rows.setdefault(table, []).append(row)
            items.extend(job.items)
            owners.extend([index] * len(job.items))
        for table, values in rows.items():
            yield (table.insert(), values)
        events = yield from self.streams.append_batch_plan(items, now, dialect)
        by_job: dict[int, list[StreamEvent]] = {}
        # append() keeps item order and drops items of vanished devices; match them up.
        cursor = 0
        for index, item in zip(owners, items, strict=True):
            if cursor < len(events) and events[cursor].device_id == item[0] \
                    and events[cursor].body is item[2]:
                by_job.setdefault(index, []).append(events[cursor])
                cursor += 1
        expiring = [{"device_id": e.device_id, "seq": e.seq, "expires_at": job.expires_at}
                    for index, job in enumerate(jobs)
                    if isinstance(job, AppendJob) and job.expires_at is not None
                    for e in by_job.get(index, [])]
        if expiring:
            yield (expiring_events.insert(), expiring)
        yield from self.sent.insert_many_plan(fresh, dialect)
        deleted = yield from self.streams.ack_batch_plan(
            [(j.device_id, j.upto) for j in jobs if isinstance(j, AckJob)], dialect)
        prunes = [j.before for j in jobs if isinstance(j, PruneJob)]
        pruned = (yield from self.sent.prune_plan(max(prunes))) if prunes else 0
        out: list[Appended | int] = []
        for index, job in enumerate(jobs):
            done = results[index]
            if done is not None:
                out.append(done)
            elif isinstance(job, AckJob):
                # a device's acks in one batch share the count (they are cumulative)
                out.append(deleted.pop(job.device_id, 0))
            elif isinstance(job, PruneJob):
                out.append(pruned)
            else:
                d = job.dedup
                out.append(Appended(d.message_id if d else "", d.ts if d else now,
                                    by_job.get(index, []), False))
        return out


class _WriterThread:
    """The committer's own thread, handed one batch at a time.

    What ``run_in_executor`` on a one-thread ``ThreadPoolExecutor`` did, with less on
    the event loop per batch: no ``concurrent.futures.Future`` with its condition
    variable, no work item, no executor locks or idle semaphore, no future chaining;
    a ``SimpleQueue`` hands the batch over and ``call_soon_threadsafe`` hands the
    answer back (the executor's ``submit`` was 6 % of the server's samples at C = 32,
    docs/benchmarks.md). As with the executor, a cancelled wait does not stop a batch
    already running: it commits or rolls back whole, and nobody is answered for it.
    """

    def __init__(self, apply: Callable[[list[Job]], list[Appended | int]]) -> None:
        self.apply = apply
        self.inbox: queue.SimpleQueue[_Batch | None] = queue.SimpleQueue()
        self.thread: threading.Thread | None = None

    async def run(self, jobs: list[Job]) -> list[Appended | int]:
        if self.thread is None:
            # A daemon, as the executor's thread was not: a batch cut off at exit was
            # answered to nobody, and SQLite rolls an unfinished transaction back.
            self.thread = threading.Thread(target=self._loop, name="group-commit",
                                           daemon=True)
            self.thread.start()
        loop = asyncio.get_running_loop()
        done: asyncio.Future[list[Appended | int]] = loop.create_future()
        self.inbox.put((jobs, done, loop))
        return await done

    def stop(self) -> None:
        """Let the thread finish the batch it runs, then end it."""
        if self.thread is not None:
            self.inbox.put(None)
            self.thread.join()
            self.thread = None

    def _loop(self) -> None:
        while (batch := self.inbox.get()) is not None:
            jobs, done, loop = batch
            try:
                results = self.apply(jobs)
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting task
                _settle_soon(loop, done, None, exc)
            else:
                _settle_soon(loop, done, results, None)


_Batch = tuple[list[Job], "asyncio.Future[list[Appended | int]]", asyncio.AbstractEventLoop]


def _settle_soon(loop: asyncio.AbstractEventLoop, done: asyncio.Future[list[Appended | int]],
                 results: list[Appended | int] | None, exc: BaseException | None) -> None:
    with contextlib.suppress(RuntimeError):  # the loop was closed meanwhile
        loop.call_soon_threadsafe(_settle, done, results, exc)


def _settle(done: asyncio.Future[list[Appended | int]], results: list[Appended | int] | None,
            exc: BaseException | None) -> None:
    if done.done():  # the waiter was cancelled
        return
    if exc is not None:
        done.set_exception(exc)
    else:
        assert results is not None
        done.set_result(results)


def _fail(pending: _Pending, exc: BaseException) -> None:
    if not pending.future.done():
        pending.future.set_exception(exc)

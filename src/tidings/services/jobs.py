"""Background jobs: long work (retro-scans of channel history against a new bank,
transparency aggregation, exports) that must survive restarts and run once across
every server process.

The queue is a table, not Redis: a job is enqueued in the same database as the change
that caused it, it survives a Redis flush, and one-process SQLite deployments get it
too. ``JobRunner`` polls for jobs of the kinds it has handlers for, runs up to
``concurrency`` of them, and renews their leases while they run. A process that dies
mid-job simply stops renewing; after the lease expires another runner claims the job
and runs it from the start. So handlers run exactly once in normal operation and at
least once under crashes: write them to be idempotent (upserts, "already done" checks),
and report progress so a re-run and a human can see how far it got.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from tidings.protocol import limits
from tidings.protocol.errors import BadRequest, NotFound
from tidings.protocol.request_ids import PAYLOAD_KEY, REQUEST_ID
from tidings.services.clock import Clock
from tidings.services.events import JobEnqueued, Topic
from tidings.storage.database import Database
from tidings.storage.jobs import JOB_STATES, JobRecord, JobStore

log = logging.getLogger(__name__)

PROGRESS_WRITE_INTERVAL_MS = 1000
"""Progress is written at most this often per job (the final count always is)."""
ERROR_TEXT_MAX = 2000
ENQUEUE_RETRIES = 3


CANCEL_RETRY_S = 0.5
"""How long ``abandon`` waits for a cancelled task before cancelling it again."""


class LeaseLost(Exception):
    """This runner no longer holds the job: another one took it after the lease expired."""


class JobService:
    """Enqueue and inspect jobs; the claim/finish primitives the runner uses."""

    def __init__(self, db: Database, store: JobStore, clock: Clock,
                 enqueued: Topic[JobEnqueued] | None = None) -> None:
        self.db = db
        self.store = store
        self.clock = clock
        self.enqueued: Topic[JobEnqueued] = Topic() if enqueued is None else enqueued
        """Emitted after each enqueue; the kernel subscribes its runner (``JobRunner.wake``)
        so a job queued in this process starts at once, not at the next poll."""

    async def enqueue(self, kind: str, payload: dict[str, Any] | None = None, *,
                      dedupe_key: str | None = None, delay_ms: int = 0,
                      max_attempts: int = limits.JOB_MAX_ATTEMPTS) -> JobRecord:
        """Queue a job. With ``dedupe_key``, an active (queued or running) job with the
        same key is returned instead of a new one, so "retro-scan bank 7" is enqueued once
        however many moderators press the button; once it is done the key is free again.
        """
        body = dict(payload or {})
        if (request_id := REQUEST_ID.get()) is not None:
            body[PAYLOAD_KEY] = request_id
        if not kind or len(kind) > limits.JOB_KIND_MAX:
            raise BadRequest(f"a job kind has 1 to {limits.JOB_KIND_MAX} characters",
                             "invalid_job")
        if dedupe_key is not None and len(dedupe_key) > limits.JOB_DEDUPE_KEY_MAX:
            raise BadRequest("the dedupe key is too long", "invalid_job")
        if len(json.dumps(body)) > limits.JOB_PAYLOAD_MAX_BYTES:
            raise BadRequest("a job payload holds references, not content", "invalid_job")
        for _ in range(ENQUEUE_RETRIES):
            async with self.db.write() as conn:
                now = self.clock()
                job = await self.store.insert(conn, kind, body, run_after=now + delay_ms,
                                              max_attempts=max_attempts,
                                              dedupe_key=dedupe_key, now=now)
                if job is None and dedupe_key is not None:
                    job = await self.store.by_dedupe_key(conn, dedupe_key)
            if job is not None:  # else the duplicate finished in between: insert again
                await self.enqueued.emit(JobEnqueued(job.kind, job.id))
                return job
        raise RuntimeError("could not enqueue a deduplicated job")  # pragma: no cover

    async def get(self, job_id: int) -> JobRecord:
        async with self.db.read() as conn:
            job = await self.store.get(conn, job_id)
        if job is None:
            raise NotFound("no such job", "job_not_found")
        return job

    async def recent(self, state: str | None = None, kind: str | None = None,
                     limit: int = limits.JOBS_PAGE_MAX) -> list[JobRecord]:
        """The newest jobs, for staff looking for one that failed or is stuck."""
        if state is not None and state not in JOB_STATES:
            raise BadRequest(f"state must be one of {', '.join(JOB_STATES)}", "invalid_state")
        limit = max(1, min(limit, limits.JOBS_PAGE_MAX))
        async with self.db.read() as conn:
            return await self.store.recent(conn, state=state, kind=kind, limit=limit)

    async def claim(self, kinds: list[str], worker: str, limit: int,
                    lease_ms: int) -> list[JobRecord]:
        async with self.db.write() as conn:
            return await self.store.claim(conn, kinds, worker, now=self.clock(),
                                          lease_ms=lease_ms, limit=limit)

    async def extend(self, job_ids: list[int], worker: str, lease_ms: int) -> set[int]:
        async with self.db.write() as conn:
            now = self.clock()
            return await self.store.extend(conn, job_ids, worker, lease_until=now + lease_ms,
                                           now=now)

    async def progress(self, job_id: int, worker: str, done: int, total: int | None) -> bool:
        async with self.db.write() as conn:
            return await self.store.progress(conn, job_id, worker, done=done, total=total,
                                             now=self.clock())

    async def finish(self, job_id: int, worker: str, result: dict[str, Any] | None,
                     done: int, total: int | None) -> bool:
        async with self.db.write() as conn:
            return await self.store.finish(conn, job_id, worker, result=result, done=done,
                                           total=total, now=self.clock())

    async def fail(self, job: JobRecord, worker: str, error: str, retry_base_ms: int) -> bool:
        """Requeue with exponential delay, or fail for good after the last attempt."""
        now = self.clock()
        retry_at = None
        if job.attempts < job.max_attempts:
            delay = min(retry_base_ms * 2 ** (job.attempts - 1),
                        limits.JOB_RETRY_MAX_S * 1000)
            retry_at = now + delay
        async with self.db.write() as conn:
            return await self.store.fail(conn, job.id, worker, error=error[:ERROR_TEXT_MAX],
                                         retry_at=retry_at, now=now)

    async def purge(self, retention_ms: int = limits.JOB_RETENTION_S * 1000) -> int:
        """Forget finished jobs past their retention; returns how many went."""
        async with self.db.write() as conn:
            return await self.store.purge(conn, finished_before=self.clock() - retention_ms)

    async def release(self, job_ids: list[int], worker: str) -> None:
        async with self.db.write() as conn:
            await self.store.release(conn, job_ids, worker, now=self.clock())


@dataclass
class JobContext:
    """What a handler gets: the job, and a way to report progress."""

    job: JobRecord
    _service: JobService
    _worker: str
    done: int = 0
    total: int | None = None
    _written_at: int = field(default=0)

    @property
    def payload(self) -> dict[str, Any]:
        return self.job.payload

    async def progress(self, done: int, total: int | None = None) -> None:
        """Record how far the job got (throttled); raises ``LeaseLost`` if it was taken."""
        self.done, self.total = done, total if total is not None else self.total
        now = self._service.clock()
        if now - self._written_at < PROGRESS_WRITE_INTERVAL_MS and done != self.total:
            return
        self._written_at = now
        if not await self._service.progress(self.job.id, self._worker, self.done, self.total):
            raise LeaseLost(f"job {self.job.id} was taken over by another runner")


Handler = Callable[[JobContext], Awaitable[dict[str, Any] | None]]
"""Runs one job; returns a small JSON-able result (or None). Raising fails the attempt."""


def new_worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


class JobRunner:
    """Claims and runs jobs of its registered kinds, ``concurrency`` at a time."""

    def __init__(self, service: JobService, *, concurrency: int = limits.JOB_CONCURRENCY,
                 lease_ms: int = limits.JOB_LEASE_S * 1000,
                 heartbeat_s: float = limits.JOB_HEARTBEAT_S,
                 poll_s: float = limits.JOB_POLL_S,
                 retry_base_ms: int = limits.JOB_RETRY_BASE_S * 1000,
                 worker_id: str | None = None,
                 handlers: Mapping[str, Handler] | None = None) -> None:
        if heartbeat_s * 1000 >= lease_ms:
            raise ValueError("the heartbeat must come well inside the lease")
        self.service = service
        self.concurrency = concurrency
        self.lease_ms = lease_ms
        self.heartbeat_s = heartbeat_s
        self.poll_s = poll_s
        self.retry_base_ms = retry_base_ms
        self.worker_id = worker_id or new_worker_id()
        self.handlers: dict[str, Handler] = dict(handlers or {})
        """The kinds this process runs (given by the kernel; tests also register)."""
        self._running: dict[int, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def wake(self, event: JobEnqueued) -> None:
        """A job was queued in this process: claim now rather than at the next poll (the
        kernel subscribes this to the queue's ``enqueued`` topic)."""
        self._wake.set()

    def register(self, kind: str, handler: Handler) -> None:
        """Handle ``kind`` here; a process only ever claims kinds it can run."""
        self.handlers[kind] = handler
        self._wake.set()

    @property
    def running(self) -> list[int]:
        return list(self._running)

    def start(self) -> None:
        if self._tasks or self.concurrency <= 0:
            return
        self._tasks = [asyncio.create_task(self._poll(), name="tidings-jobs-poll"),
                       asyncio.create_task(self._heartbeat(), name="tidings-jobs-heartbeat")]

    async def stop(self) -> None:
        """Clean shutdown: stop claiming, cancel running jobs, hand them back at once."""
        ids = self.running
        await self.abandon()
        if ids:
            try:
                await self.service.release(ids, self.worker_id)
            except (SQLAlchemyError, OSError):
                log.warning("jobs: could not release %d jobs; they rerun after the lease",
                            len(ids))

    async def abandon(self) -> None:
        """Stop everything without touching the store, as if the process died."""
        tasks = [*self._tasks, *self._running.values()]
        self._tasks = []
        for task in tasks:
            task.cancel()
        for task in tasks:
            # Python 3.11's wait_for can swallow a cancel that races with its inner
            # future completing (the wake event set by a job ending): cancel again.
            while not task.done():
                await asyncio.wait({task}, timeout=CANCEL_RETRY_S)
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                task.result()
        self._running.clear()

    async def _poll(self) -> None:
        while True:
            self._wake.clear()  # before claiming, so a wake during the claim is kept
            free = self.concurrency - len(self._running)
            claimed: list[JobRecord] = []
            if free > 0 and self.handlers:
                try:
                    claimed = await self.service.claim(sorted(self.handlers), self.worker_id,
                                                       free, self.lease_ms)
                except (SQLAlchemyError, OSError) as exc:
                    log.warning("jobs: claiming failed (%s); retrying", exc)
            for job in claimed:
                self._running[job.id] = asyncio.create_task(self._run(job),
                                                            name=f"tidings-job-{job.id}")
            if claimed and len(claimed) == free:
                continue  # maybe more waiting; slots free up when a job ends (wake)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)

    async def _heartbeat(self) -> None:
        """Renew leases; now and then, also delete finished jobs past their retention."""
        loop = asyncio.get_running_loop()
        next_purge = loop.time()
        while True:
            if loop.time() >= next_purge:
                next_purge = loop.time() + limits.JOB_PURGE_INTERVAL_S
                try:
                    await self.service.purge()
                except (SQLAlchemyError, OSError) as exc:
                    log.warning("jobs: purging finished jobs failed (%s)", exc)
            await asyncio.sleep(self.heartbeat_s)
            ids = self.running
            if not ids:
                continue
            try:
                held = await self.service.extend(ids, self.worker_id, self.lease_ms)
            except (SQLAlchemyError, OSError) as exc:
                log.warning("jobs: renewing leases failed (%s)", exc)
                continue
            for job_id in set(ids) - held:
                task = self._running.get(job_id)
                if task is not None:
                    log.warning("jobs: lost the lease of job %d; stopping it", job_id)
                    task.cancel()

    async def _run(self, job: JobRecord) -> None:
        ctx = JobContext(job, self.service, self.worker_id)
        # Runs in its own task: setting the id here does not leak into other jobs.
        REQUEST_ID.set(job.request_id or f"job-{job.id}")
        log.info("jobs: running %s job %d (attempt %d)", job.kind, job.id, job.attempts)
        try:
            handler = self.handlers[job.kind]
            try:
                result = await handler(ctx)
            except LeaseLost:
                return
            except Exception as exc:  # noqa: BLE001 - any handler failure fails the attempt
                log.warning("jobs: %s job %d failed (attempt %d): %r", job.kind, job.id,
                            job.attempts, exc)
                await self._settle(self.service.fail(job, self.worker_id, repr(exc),
                                                     self.retry_base_ms))
                return
            await self._settle(self.service.finish(job.id, self.worker_id, result,
                                                   ctx.done, ctx.total))
        finally:
            self._running.pop(job.id, None)
            self._wake.set()

    async def _settle(self, write: Awaitable[bool]) -> None:
        try:
            if not await write:
                log.warning("jobs: a job's outcome was dropped: its lease had passed on")
        except (SQLAlchemyError, OSError) as exc:
            log.warning("jobs: recording a job's outcome failed (%s); it reruns", exc)

"""The job queue's table. Every method runs inside a transaction the caller owns.

Claiming is the one delicate step. On PostgreSQL it is ``SELECT ... FOR UPDATE SKIP
LOCKED``: concurrent claimers in different processes each lock different rows and never
wait on one another, so N runners never take the same job. On SQLite the claim runs in
the write transaction (``BEGIN IMMEDIATE``), which SQLite serialises across processes,
and SQLAlchemy leaves the ``FOR UPDATE`` out.

A claim is a lease (``leased_by``, ``lease_until``), not ownership: a runner that dies
stops renewing it, and once it expires any runner may claim the job again. Every write a
runner makes afterwards is conditional on still holding the lease, so a runner that
was presumed dead and comes back cannot overwrite the new holder's work.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.protocol.request_ids import PAYLOAD_KEY
from tidings.storage.schema import jobs

JOB_STATES = ("queued", "running", "done", "failed")
ACTIVE_STATES = ("queued", "running")


@dataclass(frozen=True, slots=True)
class JobRecord:
    id: int
    kind: str
    payload: dict[str, Any]
    state: str
    attempts: int
    max_attempts: int
    run_after: int
    leased_by: str | None
    lease_until: int | None
    progress_done: int
    progress_total: int | None
    result: dict[str, Any] | None
    error: str | None
    dedupe_key: str | None
    created_at: int
    updated_at: int
    request_id: str | None = None
    """The request that enqueued the job (its log lines carry it)."""


_COLS = (jobs.c.id, jobs.c.kind, jobs.c.payload, jobs.c.state, jobs.c.attempts,
         jobs.c.max_attempts, jobs.c.run_after, jobs.c.leased_by, jobs.c.lease_until,
         jobs.c.progress_done, jobs.c.progress_total, jobs.c.result, jobs.c.error,
         jobs.c.dedupe_key, jobs.c.created_at, jobs.c.updated_at)


def _record(row: Any) -> JobRecord:
    values = list(row)
    payload = json.loads(values[2])
    request_id = payload.pop(PAYLOAD_KEY, None)
    values[2] = payload
    values[11] = json.loads(values[11]) if values[11] is not None else None
    record = JobRecord(*values)
    return replace(record, request_id=request_id) if request_id else record


def _held(job_id: int, worker: str) -> sa.ColumnElement[bool]:
    return sa.and_(jobs.c.id == job_id, jobs.c.leased_by == worker, jobs.c.state == "running")


class JobStore:
    async def insert(self, conn: AsyncConnection, kind: str, payload: dict[str, Any], *,
                     run_after: int, max_attempts: int, dedupe_key: str | None,
                     now: int) -> JobRecord | None:
        """Add a queued job; ``None`` when an active job already has ``dedupe_key``."""
        values = {"kind": kind, "payload": json.dumps(payload, separators=(",", ":")),
                  "state": "queued", "attempts": 0, "max_attempts": max_attempts,
                  "run_after": run_after, "dedupe_key": dedupe_key, "created_at": now,
                  "updated_at": now}
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = (dialect.insert(jobs).values(**values)
                .on_conflict_do_nothing(index_elements=["dedupe_key"])
                .returning(*_COLS))
        row = (await conn.execute(stmt)).first()
        return _record(row) if row is not None else None

    async def get(self, conn: AsyncConnection, job_id: int) -> JobRecord | None:
        row = (await conn.execute(sa.select(*_COLS).where(jobs.c.id == job_id))).first()
        return _record(row) if row is not None else None

    async def recent(self, conn: AsyncConnection, *, state: str | None, kind: str | None,
                     limit: int) -> list[JobRecord]:
        """The newest jobs first, optionally of one state and one kind."""
        query = sa.select(*_COLS)
        if state is not None:
            query = query.where(jobs.c.state == state)
        if kind is not None:
            query = query.where(jobs.c.kind == kind)
        rows = await conn.execute(query.order_by(jobs.c.id.desc()).limit(limit))
        return [_record(r) for r in rows]

    async def by_dedupe_key(self, conn: AsyncConnection, key: str) -> JobRecord | None:
        row = (await conn.execute(sa.select(*_COLS).where(jobs.c.dedupe_key == key))).first()
        return _record(row) if row is not None else None

    async def claim(self, conn: AsyncConnection, kinds: list[str], worker: str, *,
                    now: int, lease_ms: int, limit: int) -> list[JobRecord]:
        """Lease up to ``limit`` runnable jobs: queued and due, or running on a dead lease.

        A job whose lease expired after its last allowed attempt is marked failed here
        instead of being run again (a job that kills its runner must not loop forever).
        """
        due = sa.or_(
            sa.and_(jobs.c.state == "queued", jobs.c.run_after <= now),
            sa.and_(jobs.c.state == "running", jobs.c.lease_until < now))
        rows = (await conn.execute(
            sa.select(jobs.c.id, jobs.c.state, jobs.c.attempts, jobs.c.max_attempts)
            .where(jobs.c.kind.in_(kinds), due)
            .order_by(jobs.c.run_after, jobs.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True))).all()
        take: list[int] = []
        for row in rows:
            if row.state == "running" and row.attempts >= row.max_attempts:
                await conn.execute(jobs.update().where(jobs.c.id == row.id).values(
                    state="failed", error="the runner stopped answering on every attempt",
                    leased_by=None, lease_until=None, dedupe_key=None, updated_at=now))
            else:
                take.append(row.id)
        if not take:
            return []
        await conn.execute(jobs.update().where(jobs.c.id.in_(take)).values(
            state="running", leased_by=worker, lease_until=now + lease_ms,
            attempts=jobs.c.attempts + 1, updated_at=now))
        claimed = await conn.execute(sa.select(*_COLS).where(jobs.c.id.in_(take))
                                     .order_by(jobs.c.run_after, jobs.c.id))
        return [_record(r) for r in claimed]

    async def extend(self, conn: AsyncConnection, job_ids: list[int], worker: str, *,
                     lease_until: int, now: int) -> set[int]:
        """Renew leases; returns the ids this worker still holds."""
        if not job_ids:
            return set()
        held = sa.and_(jobs.c.id.in_(job_ids), jobs.c.leased_by == worker,
                       jobs.c.state == "running")
        await conn.execute(jobs.update().where(held).values(lease_until=lease_until,
                                                            updated_at=now))
        rows = await conn.execute(sa.select(jobs.c.id).where(held))
        return {r.id for r in rows}

    async def progress(self, conn: AsyncConnection, job_id: int, worker: str, *,
                       done: int, total: int | None, now: int) -> bool:
        result = await conn.execute(jobs.update().where(_held(job_id, worker)).values(
            progress_done=done, progress_total=total, updated_at=now))
        return bool(result.rowcount)

    async def finish(self, conn: AsyncConnection, job_id: int, worker: str, *,
                     result: dict[str, Any] | None, done: int, total: int | None,
                     now: int) -> bool:
        encoded = json.dumps(result, separators=(",", ":")) if result is not None else None
        updated = await conn.execute(jobs.update().where(_held(job_id, worker)).values(
            state="done", result=encoded, error=None, leased_by=None, lease_until=None,
            dedupe_key=None, progress_done=done, progress_total=total, updated_at=now))
        return bool(updated.rowcount)

    async def fail(self, conn: AsyncConnection, job_id: int, worker: str, *, error: str,
                   retry_at: int | None, now: int) -> bool:
        """Requeue for ``retry_at``, or mark failed for good when it is ``None``."""
        if retry_at is None:
            values: dict[str, Any] = {"state": "failed", "dedupe_key": None}
        else:
            values = {"state": "queued", "run_after": retry_at}
        updated = await conn.execute(jobs.update().where(_held(job_id, worker)).values(
            error=error, leased_by=None, lease_until=None, updated_at=now, **values))
        return bool(updated.rowcount)

    async def release(self, conn: AsyncConnection, job_ids: list[int], worker: str, *,
                      now: int) -> None:
        """Hand jobs back on a clean shutdown, without using up an attempt."""
        if not job_ids:
            return
        await conn.execute(jobs.update().where(
            jobs.c.id.in_(job_ids), jobs.c.leased_by == worker, jobs.c.state == "running"
        ).values(state="queued", leased_by=None, lease_until=None, run_after=now,
                 attempts=jobs.c.attempts - 1, updated_at=now))

    async def purge(self, conn: AsyncConnection, *, finished_before: int) -> int:
        """Delete done and failed jobs last touched before ``finished_before``."""
        result = await conn.execute(jobs.delete().where(
            jobs.c.state.in_(("done", "failed")), jobs.c.updated_at < finished_before))
        return int(result.rowcount or 0)

"""A job-runner process for the cross-process tests: ``python -m tests.services.job_worker
DB_URL WORKER_ID OUT_FILE``. Every job it runs is appended to OUT_FILE ("ran <id>"), so
the test can count runs across processes; ``hang`` jobs never finish (to be killed)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from tidings.services.clock import system_clock
from tidings.services.jobs import JobContext, JobRunner, JobService
from tidings.storage.database import Database
from tidings.storage.jobs import JobStore

LEASE_MS = 3000
"""Long enough that a heartbeat delayed by a loaded machine (SQLite write lock waits)
does not lose the lease, which would rightly run the job twice (at-least-once)."""


def note(out: Path, line: str) -> None:
    with out.open("a") as fh:
        fh.write(line + "\n")
        fh.flush()


async def main(url: str, worker: str, out: Path) -> None:
    db = Database(url)
    runner = JobRunner(JobService(db, JobStore(), system_clock), concurrency=4,
                       lease_ms=LEASE_MS, heartbeat_s=0.3, poll_s=0.05, worker_id=worker)

    async def count(ctx: JobContext) -> dict[str, Any]:
        note(out, f"ran {ctx.job.id}")
        await asyncio.sleep(0.02)
        return {"by": worker}

    async def hang(ctx: JobContext) -> None:
        note(out, f"started {ctx.job.id}")
        await asyncio.Event().wait()

    runner.register("count", count)
    runner.register("hang", hang)
    runner.start()
    note(out, "ready")
    await asyncio.Event().wait()  # until the test kills this process


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], Path(sys.argv[3])))

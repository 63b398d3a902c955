"""Jobs across real OS processes: exactly once with three runner processes, and a job
whose process is SIGKILLed mid-run is finished by another after the lease expires."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.services.job_worker import LEASE_MS
from tidings.services.clock import system_clock
from tidings.services.jobs import JobContext, JobRunner, JobService
from tidings.storage.database import Database
from tidings.storage.jobs import JobStore

ROOT = Path(__file__).resolve().parents[2]

Spawn = Callable[[str, Path], Any]


@pytest.fixture
async def spawn(database: Database) -> AsyncIterator[Spawn]:
    procs: list[asyncio.subprocess.Process] = []
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT),
                                          os.environ.get("PYTHONPATH", "")])}

    async def _spawn(worker: str, out: Path) -> asyncio.subprocess.Process:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.services.job_worker", database.url, worker,
            str(out), cwd=ROOT, env=env)
        procs.append(proc)
        return proc

    yield _spawn
    for proc in procs:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def until(check: Callable[[], Any], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def lines(*files: Path) -> list[str]:
    return [ln for f in files if f.exists() for ln in f.read_text().splitlines()]


async def test_three_processes_run_each_job_once(database: Database, spawn: Spawn,
                                                 tmp_path: Path) -> None:
    outs = [tmp_path / f"w{i}.log" for i in range(3)]
    for i, out in enumerate(outs):
        await spawn(f"w{i}", out)

    async def ready() -> bool:
        return lines(*outs).count("ready") == 3

    await until(ready)
    svc = JobService(database, JobStore(), system_clock)
    ids = [(await svc.enqueue("count", {"n": i})).id for i in range(50)]

    async def all_done() -> bool:
        states = [(await svc.get(i)).state for i in ids]
        return all(s == "done" for s in states)

    await until(all_done)
    runs = Counter(int(ln.split()[1]) for ln in lines(*outs) if ln.startswith("ran "))
    assert runs == Counter(dict.fromkeys(ids, 1))
    assert sum(1 for out in outs if "ran " in out.read_text()) >= 2  # work was shared


async def test_job_of_a_killed_process_is_finished_by_another(
        database: Database, spawn: Spawn, tmp_path: Path) -> None:
    out = tmp_path / "doomed.log"
    proc = await spawn("doomed", out)
    svc = JobService(database, JobStore(), system_clock)

    async def ready() -> bool:
        return "ready" in lines(out)

    await until(ready)
    job = await svc.enqueue("hang", {"bank": 1})

    async def started() -> bool:
        return f"started {job.id}" in lines(out)

    await until(started)
    proc.send_signal(signal.SIGKILL)  # no release, no goodbye
    await proc.wait()
    killed_at = time.monotonic()

    async def finish(ctx: JobContext) -> dict[str, Any]:
        return {"by": "rescuer"}

    rescuer = JobRunner(svc, worker_id="rescuer", lease_ms=LEASE_MS, heartbeat_s=0.2,
                        poll_s=0.05)
    rescuer.register("hang", finish)
    rescuer.start()
    try:
        async def done() -> bool:
            return (await svc.get(job.id)).state == "done"

        await until(done)
    finally:
        await rescuer.stop()
    final = await svc.get(job.id)
    assert final.result == {"by": "rescuer"} and final.attempts == 2
    assert time.monotonic() - killed_at < LEASE_MS / 1000 + 5

"""The upload's PDQ worker processes (services/hash_workers.py): the same hashes as
``query_hashes`` in this process, for many photos handed over from many threads at
once (more than ``SLOTS`` in flight: some through the shared slots, the rest through
the pipes), and a worker killed mid-way costs time only (None: the caller hashes in its own
thread; a new pool after ``REST_S``)."""

from __future__ import annotations

import asyncio
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from tidings.moderation import pdq_variants as pv
from tidings.services import hash_workers

PHOTOS = Path(__file__).parents[1] / "server" / "data" / "photos"


def reductions() -> list[Image.Image]:
    """Real photographs and edits of them, as ``imaging.process_photo`` reduces them."""
    out = []
    for path in sorted(PHOTOS.glob("*.jpg")):
        with Image.open(path) as img:
            rgb = img.convert("RGB")
        for variant in (rgb, ImageOps.mirror(rgb), ImageOps.expand(rgb, 40, (0, 0, 0))):
            out.append(pv.reduce_for_pdq(variant))
    return out


async def test_workers_hash_like_this_process_from_many_threads_at_once() -> None:
    pictures = reductions()
    with ThreadPoolExecutor(6) as threads:  # handed over concurrently, as uploads are
        jobs = list(threads.map(hash_workers.submit, pictures * 2))
    assert all(job is not None for job in jobs)
    got = [await hash_workers.hashes(job) for job in jobs if job is not None]
    for picture, hashes in zip(pictures * 2, got, strict=True):
        assert hashes == pv.query_hashes(picture, picture)


async def test_a_killed_worker_answers_none_and_the_pool_is_replaced(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hash_workers, "REST_S", 0.0)
    picture = reductions()[0]
    job = hash_workers.submit(picture)
    assert job is not None and await hash_workers.hashes(job) is not None
    pool = job.pool
    pids = [w.process.pid for w in pool.workers]
    for pid in pids:
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
    job = hash_workers.submit(picture)  # may be taken before the death is noticed
    if job is not None:
        assert await hash_workers.hashes(job) is None
    for _ in range(100):  # the answer threads see the pipes close
        if hash_workers._pool is not pool:
            break
        await asyncio.sleep(0.05)
    again = hash_workers.submit(picture)
    assert again is not None and again.pool is not pool
    assert await hash_workers.hashes(again) == pv.query_hashes(picture, picture)
    assert {w.process.pid for w in again.pool.workers}.isdisjoint(pids)

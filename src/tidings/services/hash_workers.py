"""Worker processes for an upload's PDQ hashes, beside the thread that re-encodes it.

pdqhash and Pillow's JPEG encoder both hold the GIL, so in threads of the server's
process a photo's query hashes (``pdq_variants.query_hashes``, ~8-11 ms for 1 Mpx) and its
cleaning (re-encode and thumbnail, ~8 ms) run one after the other whatever the number
of cores. Here the photo's PDQ reduction (577x433 for 1 Mpx) goes to a worker process
as soon as ``imaging.process_photo`` has made it, and is hashed there while the thread
re-encodes and thumbnails the photo, in two halves at once (its dihedral hashes in one
worker, the variants derived from it in the other: ~5 ms each): the same functions on
the same pixels, so the same hashes, in the same order.

Bounded: ``MEDIA_HASH_PROCESSES`` processes (spawned, not forked: the server has
threads), each job at most one PDQ reduction (under 1024 pixels a side, ~3 MB). The
pool starts with the server (``start``) or at the first photo. A job the pool cannot
take or finish (shut down, a worker killed) answers None and the caller hashes in its
own thread; a broken pool is replaced after ``REST_S``.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import multiprocessing
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from PIL import Image

from tidings.moderation import pdq_variants as pv
from tidings.protocol import limits

PARENT_POLL_S = 1.0
"""How often a worker checks that the server that started it still runs."""
REST_S = 60.0
"""After a pool broke, how long uploads hash in their own thread before another starts."""
WORKER_KEEP_BYTES = 64 << 20
"""Freed memory a worker keeps for its next job instead of returning it (glibc)."""
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters (malloc.h)
DIHEDRAL, DERIVED = "dihedral", "derived"
_lock = threading.Lock()
_resting_until = 0.0
_pool: ProcessPoolExecutor | None = None


def _hash(part: str, mode: str, size: tuple[int, int], raw: bytes) -> list[pv.PdqVariant]:
    """In a worker: one half of ``query_hashes`` of an opaque RGB picture's PDQ
    reduction (every variant is hashed from it): its dihedral hashes (the first, the
    stored one) or the variants derived from it, in ``query_hashes``'s order."""
    reduced = Image.frombytes(mode, size, raw)
    if part == DIHEDRAL:
        return [pv.PdqVariant(name, value, quality)
                for name, value, quality in pv.pdq_dihedral(reduced)]
    return pv.derived_hashes(reduced)


def _ready() -> int:
    return 0


def _init_worker(parent: int) -> None:
    """In each worker: keep freed memory (glibc gave each job's ~5 MB of numpy
    temporaries back to the system and faulted them in again, ~1,200 page faults and a
    quarter of a job's CPU), and exit when the server is gone (a server killed outright
    runs no exit handler, and a worker waiting on its queue would wait forever)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        libc.mallopt(_M_TRIM_THRESHOLD, WORKER_KEEP_BYTES)
        libc.mallopt(_M_MMAP_THRESHOLD, WORKER_KEEP_BYTES // 2)
    except (OSError, AttributeError):  # not glibc: slower, same hashes
        pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        os._exit(0)
    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _get() -> ProcessPoolExecutor | None:
    global _pool
    with _lock:
        if _pool is None and time.monotonic() < _resting_until:
            return None
        if _pool is None:
            _pool = ProcessPoolExecutor(limits.MEDIA_HASH_PROCESSES,
                                        mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_init_worker, initargs=(os.getpid(),))
        return _pool


def start() -> None:
    """Start the workers (server start-up), so the first upload does not wait for them."""
    pool = _get()
    if pool is not None:  # workers start on demand: one job each, at once
        for _ in range(limits.MEDIA_HASH_PROCESSES):
            pool.submit(_ready)


@dataclass(frozen=True, slots=True)
class Job:
    pool: ProcessPoolExecutor
    parts: tuple[Future[list[pv.PdqVariant]], ...]


def submit(reduced: Image.Image) -> Job | None:
    """``query_hashes`` of an opaque RGB photo's ``reduce_for_pdq``, in a worker; None
    when no worker can take it (the caller hashes in its thread)."""
    pool = _get()
    if pool is None:
        return None
    raw = reduced.tobytes()
    try:  # the two halves in two workers at once
        return Job(pool, tuple(pool.submit(_hash, part, reduced.mode, reduced.size, raw)
                               for part in (DIHEDRAL, DERIVED)))
    except (BrokenProcessPool, RuntimeError):  # broken or shut down: replace it
        _forget(pool)
        return None


async def hashes(job: Job) -> list[pv.PdqVariant] | None:
    """The job's hashes, or None when its worker died (the pool is then replaced)."""
    try:
        dihedral, derived = [await asyncio.wrap_future(part) for part in job.parts]
        return dihedral + derived
    except BrokenProcessPool:
        _forget(job.pool)
        return None


def _forget(pool: ProcessPoolExecutor) -> None:
    """Drop a broken pool; none is started for ``REST_S`` (a worker that cannot start,
    say a main module without the ``__main__`` guard, would otherwise cost a process
    start per upload): uploads hash in their thread meanwhile."""
    global _pool, _resting_until
    with _lock:
        if _pool is pool:
            _pool = None
            _resting_until = time.monotonic() + REST_S
    pool.shutdown(wait=False, cancel_futures=True)


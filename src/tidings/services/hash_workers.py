"""Worker processes for an upload's PDQ hashes, beside the thread that re-encodes it.

pdqhash holds the GIL, so in threads of the server's process a photo's query hashes
(``pdq_variants.query_hashes``, ~6-11 ms for 1 Mpx) and its cleaning (re-encode and
thumbnail, ~5-8 ms) would run one after the other whatever the number of cores. Here
the photo's PDQ reduction (577x433 for 1 Mpx) goes to worker processes as soon as
``imaging.process_photo`` has made it, and is hashed there while the thread
re-encodes and thumbnails the photo, in two halves at once (its dihedral hashes in one
worker, the variants derived from it in the other): the same functions on the same
pixels, so the same hashes, in the same order.

**Handed over by the thread that made it.** The thread that made the reduction copies
it once into a free shared slot (``_Slots``: a ``memfd`` the workers map too) and writes
a short header into each worker's request pipe, so both start at once; with no slot
free (more than ``SLOTS`` photos in flight) the pixels go through the pipes themselves
(enlarged to hold one reduction). A ``ProcessPoolExecutor`` hands jobs over through its
own manager and feeder threads instead, and those wait for the GIL while the re-encode
runs: measured, the second half started only after the re-encode had finished, ~7 ms
after it was submitted (docs/benchmarks.md, "Image post"). Each worker answers on its
own pipe, read by one thread per worker that only unpickles the small answer.

Bounded: ``MEDIA_HASH_PROCESSES`` processes (spawned, not forked: the server has
threads), each job one PDQ reduction (under 1024 pixels a side, ~3 MB), handed over
under a lock per worker (a writer waits while the worker's pipe is full, i.e. while it
still works on an earlier photo). The pool starts with the server (``start``) or at the
first photo. A job the pool cannot take or finish (shut down, a worker killed) answers
None and the caller hashes in its own thread; a broken pool is replaced after
``REST_S``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import fcntl
import itertools
import mmap
import multiprocessing
import os
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing import reduction
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from PIL import Image

from tidings.moderation import pdq_variants as pv
from tidings.moderation.limits import PDQ_HASH_MAX_SIDE
from tidings.protocol import limits

PARENT_POLL_S = 1.0
"""How often a worker checks that the server that started it still runs."""
REST_S = 60.0
"""After a pool broke, how long uploads hash in their own thread before another starts."""
WORKER_KEEP_BYTES = 64 << 20
"""Freed memory a worker keeps for its next job instead of returning it (glibc)."""
PIPE_BYTES = 1 << 20
"""Request pipe size asked for (Linux ``F_SETPIPE_SZ``; the unprivileged maximum by
default): one 1-Mpx photo's reduction (~750 KB) fits, so handing it over never waits
for an idle worker."""
SLOTS = 4
"""Photos whose pixels can be in the shared slots at once (more in flight go through the
pipes)."""
SLOT_BYTES = 3 * (2 * PDQ_HASH_MAX_SIDE) ** 2
"""One RGB PDQ reduction at most (``reduce_for_pdq`` leaves under twice
``PDQ_HASH_MAX_SIDE`` a side): 3 MiB. The slots are a ``memfd`` both sides map; a
slot's pages take memory only once written."""
_F_SETPIPE_SZ = 1031  # fcntl.h (Linux); fcntl.F_SETPIPE_SZ from Python 3.10 on Linux
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters (malloc.h)
DIHEDRAL, DERIVED = "dihedral", "derived"
_lock = threading.Lock()
_resting_until = 0.0
_pool: _Pool | None = None


class WorkerGone(RuntimeError):
    """The worker process holding a job ended before it answered: the pool is replaced."""


class HashFailed(RuntimeError):
    """A worker could not hash a job (its caller hashes in its own thread, where the
    same error surfaces); the worker goes on."""


def _hash(part: str, mode: str, size: tuple[int, int], raw: bytes) -> list[pv.PdqVariant]:
    """In a worker: one half of ``query_hashes`` of an opaque RGB picture's PDQ
    reduction (every variant is hashed from it): its dihedral hashes (the first, the
    stored one) or the variants derived from it, in ``query_hashes``'s order."""
    reduced = Image.frombytes(mode, size, raw)
    if part == DIHEDRAL:
        return [pv.PdqVariant(name, value, quality)
                for name, value, quality in pv.pdq_dihedral(reduced)]
    return pv.derived_hashes(reduced)


def _init_worker(parent: int) -> None:
    """In each worker: keep freed memory (glibc gave each job's ~5 MB of numpy
    temporaries back to the system and faulted them in again, ~1,200 page faults and a
    quarter of a job's CPU), and exit when the server is gone (a server killed outright
    runs no exit handler, and a worker waiting on its pipe would wait forever)."""
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


def _serve(requests: Connection, answers: Connection, parent: int, slots: int) -> None:
    """A worker's loop: a job is a header ``(id, part, mode, size, slot)`` and, when
    ``slot`` is -1, the pixels (else they are in that shared slot, ``slots`` being the
    shared memory's descriptor, or -1 for none); the answer is ``(id, hashes, error)``,
    each hash a ``(name, value, quality)`` tuple.
    Ends when the server closes the pipe."""
    _init_worker(parent)
    shared = mmap.mmap(slots, SLOTS * SLOT_BYTES, prot=mmap.PROT_READ) if slots >= 0 else None
    while True:
        try:
            job, part, mode, size, slot = requests.recv()
            if slot < 0 or shared is None:
                raw = requests.recv_bytes()
            else:
                start = slot * SLOT_BYTES
                raw = shared[start:start + size[0] * size[1] * len(mode)]
        except (EOFError, OSError):
            return
        try:
            hashes = [(v.name, v.value, v.quality) for v in _hash(part, mode, size, raw)]
            answers.send((job, hashes, None))  # tuples: 40 dataclasses pickle in ~45 us
        except Exception as exc:  # noqa: BLE001 - the caller hashes in its thread
            answers.send((job, None, f"{type(exc).__name__}: {exc}"))


class _Descriptor:
    """A file descriptor handed to a spawned worker as it starts (the way
    ``multiprocessing`` hands over a ``Connection``'s): the worker gets its own copy."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __reduce__(self) -> tuple[object, tuple[object]]:
        return _detach, (reduction.DupFd(self.fd),)


def _detach(dup: object) -> int:
    fd: int = dup.detach()  # type: ignore[attr-defined]
    return fd


class _Slots:
    """``SLOTS`` shared pixel slots: the thread that made a reduction copies it into a
    free one once, instead of writing it into each worker's pipe (two kernel copies
    in, two out, ~1 ms of the thread's time before its re-encode)."""

    def __init__(self) -> None:
        self.fd = os.memfd_create("tidings-pdq", os.MFD_CLOEXEC)
        os.ftruncate(self.fd, SLOTS * SLOT_BYTES)
        self.map = mmap.mmap(self.fd, SLOTS * SLOT_BYTES)
        self.lock = threading.Lock()
        self.free = list(range(SLOTS))

    def take(self, raw: bytes) -> int:
        """A slot holding ``raw``, or -1 when none is free (or it is too large)."""
        if len(raw) > SLOT_BYTES:
            return -1
        with self.lock:
            if not self.free:
                return -1
            slot = self.free.pop()
        start = slot * SLOT_BYTES
        self.map[start:start + len(raw)] = raw
        return slot

    def release_after(self, slot: int, parts: tuple[Future[list[pv.PdqVariant]], ...]) -> None:
        """Free ``slot`` once every worker reading it has answered (or ended)."""
        left = [len(parts)]
        if not parts:  # nothing was handed over
            with self.lock:
                self.free.append(slot)
            return

        def done(_: object) -> None:
            with self.lock:
                left[0] -= 1
                if left[0] == 0:
                    self.free.append(slot)
        for part in parts:
            part.add_done_callback(done)

    def hand_over(self) -> None:
        """The workers have their copies of the descriptor: this process keeps only
        its mapping."""
        os.close(self.fd)


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    requests: Connection
    answers: Connection
    send_lock: threading.Lock = field(default_factory=threading.Lock)
    """One writer at a time on the request pipe (held while the pipe is full)."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    """The pending jobs (never held while writing, so answers are always read)."""
    pending: dict[int, Future[list[pv.PdqVariant]]] = field(default_factory=dict)
    gone: bool = False

    def submit(self, job: int, part: str, reduced: Image.Image, raw: bytes, slot: int
               ) -> Future[list[pv.PdqVariant]]:
        """Hand one half of a job over: its pixels are in ``slot``, or (-1) go through
        the pipe."""
        future: Future[list[pv.PdqVariant]] = Future()
        with self.lock:
            if self.gone:
                raise WorkerGone("the worker ended")
            self.pending[job] = future
        try:
            with self.send_lock:
                self.requests.send((job, part, reduced.mode, reduced.size, slot))
                if slot < 0:
                    self.requests.send_bytes(raw)
        except OSError as exc:  # the worker died: its end of the pipe is closed
            with self.lock:
                self.pending.pop(job, None)
            raise WorkerGone("the worker ended") from exc
        return future

    def read_answers(self, pool: _Pool) -> None:
        """In a thread of the server: answers to their futures until the worker ends,
        then every job still pending fails (its caller hashes in its own thread) and
        the pool is replaced."""
        while True:
            try:
                job, hashes, error = self.answers.recv()
            except (EOFError, OSError):
                break
            with self.lock:
                future = self.pending.pop(job, None)
            if future is None:
                continue
            if error is None:
                future.set_result([pv.PdqVariant(*v) for v in hashes])
            else:
                future.set_exception(HashFailed(error))
        with self.lock:
            self.gone = True
            left, self.pending = self.pending, {}
        for future in left.values():
            future.set_exception(WorkerGone("the worker ended before it answered"))
        _forget(pool)

    def close(self) -> None:
        """End the worker (a writer waiting on its full pipe then fails) and its pipes."""
        with self.lock:
            self.gone = True
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.requests.close()
        self.answers.close()


class _Pool:
    def __init__(self, size: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.workers: list[_Worker] = []
        self.turn = itertools.count()
        self.jobs = itertools.count()
        self.slots: _Slots | None = None
        with contextlib.suppress(OSError, AttributeError):  # no memfd: pixels by pipe
            self.slots = _Slots()
        shared = _Descriptor(self.slots.fd) if self.slots is not None else -1
        for _ in range(size):
            take_jobs, give_jobs = context.Pipe(duplex=False)  # (reader, writer)
            take_answers, give_answers = context.Pipe(duplex=False)
            # Under a smaller limit the writer waits for the worker instead.
            with contextlib.suppress(OSError):
                fcntl.fcntl(give_jobs.fileno(),
                            getattr(fcntl, "F_SETPIPE_SZ", _F_SETPIPE_SZ), PIPE_BYTES)
            process = context.Process(target=_serve, name="tidings-pdq", daemon=True,
                                      args=(take_jobs, give_answers, os.getpid(), shared))
            process.start()
            take_jobs.close()  # the worker's ends: this process keeps only its own
            give_answers.close()
            worker = _Worker(process, give_jobs, take_answers)
            self.workers.append(worker)
            threading.Thread(target=worker.read_answers, args=(self,), daemon=True,
                             name="tidings-pdq-answers").start()
        if self.slots is not None:
            self.slots.hand_over()

    def submit(self, reduced: Image.Image) -> Job:
        raw = reduced.tobytes()
        first = next(self.turn)
        job = next(self.jobs)
        slot = self.slots.take(raw) if self.slots is not None else -1
        parts: list[Future[list[pv.PdqVariant]]] = []
        try:
            for n, part in enumerate((DIHEDRAL, DERIVED)):
                worker = self.workers[(first + n) % len(self.workers)]
                parts.append(worker.submit(job, part, reduced, raw, slot))
        finally:
            if self.slots is not None and slot >= 0:  # free once all handed over answer
                self.slots.release_after(slot, tuple(parts))
        return Job(self, tuple(parts))

    def close(self) -> None:
        for worker in self.workers:
            worker.close()


def _get() -> _Pool | None:
    global _pool
    with _lock:
        if _pool is None and time.monotonic() < _resting_until:
            return None
        if _pool is None:
            _pool = _Pool(limits.MEDIA_HASH_PROCESSES)
        return _pool


WARM_UP_SIDE = 64
"""Side of the blank picture each worker hashes once at start-up (its first pdqhash
and numpy calls set up what later jobs reuse)."""


def start() -> None:
    """Start the workers (server start-up), so the first upload does not wait for them."""
    pool = _get()
    if pool is not None:
        with contextlib.suppress(WorkerGone):
            pool.submit(Image.new("RGB", (WARM_UP_SIDE, WARM_UP_SIDE)))


@dataclass(frozen=True, slots=True)
class Job:
    pool: _Pool
    parts: tuple[Future[list[pv.PdqVariant]], ...]


def submit(reduced: Image.Image) -> Job | None:
    """``query_hashes`` of an opaque RGB photo's ``reduce_for_pdq``, in the workers;
    None when they cannot take it (the caller hashes in its thread)."""
    pool = _get()
    if pool is None:
        return None
    try:
        return pool.submit(reduced)
    except WorkerGone:  # a worker died: replace the pool
        _forget(pool)
        return None


async def hashes(job: Job) -> list[pv.PdqVariant] | None:
    """The job's hashes, or None when a worker died (the pool is then replaced)."""
    try:
        dihedral, derived = [await asyncio.wrap_future(part) for part in job.parts]
    except HashFailed:
        return None
    except WorkerGone:
        _forget(job.pool)
        return None
    return dihedral + derived


def _forget(pool: _Pool) -> None:
    """Drop a broken pool; none is started for ``REST_S`` (a worker that cannot start,
    say a main module without the ``__main__`` guard, would otherwise cost a process
    start per upload): uploads hash in their thread meanwhile."""
    global _pool, _resting_until
    with _lock:
        if _pool is not pool:
            return
        _pool = None
        _resting_until = time.monotonic() + REST_S
    threading.Thread(target=pool.close, daemon=True, name="tidings-pdq-close").start()

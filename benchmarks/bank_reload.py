"""Start-up reload of the bank matcher: full load from the database vs the snapshot.

Fills a fresh database with N random PDQ entries in one bank (through ``BankStore``
with the change log, as imports do), then times ``BankSync.load()`` three ways:
without a snapshot (every enabled entry read and indexed, then a snapshot written),
from the snapshot, and from the snapshot plus ``--newer`` entries added after it
(applied from the change log). Each load uses a new ``ModerationService``.

    PYTHONPATH=src python benchmarks/bank_reload.py --entries 100000
    PYTHONPATH=src python benchmarks/bank_reload.py --entries 100000 \\
        --database postgresql+asyncpg://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tidings.services.bank_sync import BankSync, limit_matcher_threads
from tidings.services.moderation import ModerationService
from tidings.storage import migrate
from tidings.storage.banks import BankStore, NewEntry
from tidings.storage.database import Database, sqlite_url_for

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _report import result

BATCH = 5_000
LABELS = ("category:terrorist_content",)


async def fill(db: Database, store: BankStore, codes: np.ndarray) -> None:
    for start in range(0, len(codes), BATCH):
        new = [NewEntry("pdq", c.tobytes().hex(), LABELS, "bench")
               for c in codes[start:start + BATCH]]
        async with db.write() as conn:
            version = await store.bump_version(conn)
            added, _ = await store.add_entries(conn, "TERROR_BENCH", new, 1)
            await store.record_changes(conn, version, [(e.id, "TERROR_BENCH", "add")
                                                       for e in added], 1)


async def timed_load(db: Database, snapshot: Path) -> tuple[float, str, int, int]:
    sync = BankSync(db, BankStore(), ModerationService(), snapshot)
    report = await sync.load()
    return report.seconds, report.source, report.entries, report.applied_after


async def main(entries: int, newer: int, url: str) -> None:
    limit_matcher_threads()
    store = BankStore()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(url or sqlite_url_for(str(Path(tmp) / "bench.db")))
        await migrate.upgrade(db)
        async with db.write() as conn:
            await store.create_bank(conn, "TERROR_BENCH", "", None, True, 1)
        rng = np.random.default_rng(7)
        t0 = time.perf_counter()
        await fill(db, store, rng.integers(0, 256, size=(entries, 32), dtype=np.uint8))
        filled = time.perf_counter() - t0
        snapshot = Path(tmp) / "index" / "matcher.bin"
        print(f"$ PYTHONPATH=src python {' '.join(sys.argv)}")
        print(f"database: {db.dialect}; {entries:,} PDQ entries written in {filled:.1f}s")
        for label in ("no snapshot (database)", "snapshot"):
            secs, source, n, applied = await timed_load(db, snapshot)
            result(f"reload from {label}", secs, "s")
            print(f"  load from {label:<24} {secs:6.2f}s  source={source} entries={n:,} "
                  f"applied_from_log={applied}")
        print(f"  snapshot file: {snapshot.stat().st_size / 2**20:.1f} MiB")
        await fill(db, store, rng.integers(0, 256, size=(newer, 32), dtype=np.uint8))
        secs, source, n, applied = await timed_load(db, snapshot)
        print(f"  load from snapshot + {newer:,} newer  {secs:6.2f}s  source={source} "
              f"entries={n:,} applied_from_log={applied}")
        await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--newer", type=int, default=1_000)
    parser.add_argument("--database", default="", help="SQLAlchemy URL; default SQLite")
    args = parser.parse_args()
    asyncio.run(main(args.entries, args.newer, args.database))

"""Keeps the engine snapshot of ``ModerationService`` equal to the bank store.

Every server process holds its own matcher. Each load and each batch of changes ends in
one new engine snapshot (``moderation/engine.py``) swapped in whole: the banks' settings
are new values; the matcher's indexes and the entries' labels are updated in place in
the same synchronous step (copying them would cost O(entries) a change), so a check,
which reads the snapshot without awaiting, never sees one without the other.

The store keeps a change log ordered by ``bank_version``; each process remembers the
last version it applied and, on :meth:`BankSync.refresh`, applies the newer changes
one entry at a time (faiss add, or a disabled-id flip) instead of rebuilding. Applying
is *state based*: for each changed entry the current row decides (enabled -> indexed
and enabled, disabled -> disabled), so a change seen twice, or a row newer than its log
line, is harmless.

Start-up reads a snapshot (``<data>/index/matcher.bin``: the bank_version it reflects,
entry labels, then ``Matcher.to_bytes()``) and applies only the log after it; without
a usable snapshot it loads every enabled entry and writes one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from tidings.moderation import Matcher
from tidings.moderation.engine import BankInfo
from tidings.moderation.errors import CorruptIndexError, DuplicateEntryError, UnknownEntryError
from tidings.protocol.limits import BANK_CHANGES_BATCH, BANK_SNAPSHOT_EVERY_CHANGES
from tidings.services.moderation import ModerationService
from tidings.storage.banks import BankRecord, BankStore, EntryRecord
from tidings.storage.database import Database

log = logging.getLogger("tidings.banks")

SNAPSHOT_MAGIC = b"TIDINGS-MATCHER-SNAPSHOT 1\n"
LOAD_PAGE = 10_000
"""Entries read per query during a full load."""
MATCHER_THREADS = 1
"""OpenMP threads faiss may use per query. One: a publish checks one photo at a time,
and with more threads idle OpenMP workers spin after each search and steal the CPU
from decoding and hashing (measured: 100k-entry search p99 36 ms with 2 threads on a
busy 2-vCPU host, 0.23 ms with 1; see docs/matching.md "Publish path")."""


def limit_matcher_threads() -> None:
    import faiss

    faiss.omp_set_num_threads(MATCHER_THREADS)


@dataclass(frozen=True, slots=True)
class LoadReport:
    source: str
    """``snapshot`` or ``database``."""
    entries: int
    version: int
    applied_after: int
    """Changes applied from the log after the snapshot (or the full load)."""
    seconds: float


def bank_info(record: BankRecord, labels: dict[int, tuple[str, ...]]) -> BankInfo:
    """A bank's settings; ``labels`` is bank sync's own dict, which it keeps filling."""
    single = record.thresholds if isinstance(record.thresholds, int) else None
    by_type = dict(record.thresholds) if isinstance(record.thresholds, dict) else {}
    return BankInfo(record.name, record.enabled, single, labels, by_type,
                    partner=record.partner, trusted=record.trusted, negative=record.negative)


class BankSync:
    def __init__(self, db: Database, store: BankStore, moderation: ModerationService,
                 snapshot_path: Path | None) -> None:
        self.db = db
        self.store = store
        self.moderation = moderation
        self.snapshot_path = snapshot_path
        self.version = 0
        """The last bank_version applied to the engine's matcher."""
        self._labels: dict[str, dict[int, tuple[str, ...]]] = {}
        """Entry labels by bank: the dicts the snapshots' ``BankInfo`` read."""
        self.changes_since_snapshot = 0
        self.epoch = ""
        """The database's identity; a snapshot of another database is ignored."""
        self.last_load: LoadReport | None = None
        """How the last start-up load went (source, entries, seconds): for metrics."""
        self._lock = asyncio.Lock()

    # --- start-up ------------------------------------------------------------------
    async def load(self) -> LoadReport:
        start = time.perf_counter()
        async with self._lock:
            async with self.db.read() as conn:
                current = await self.store.current_version(conn)
                self.epoch = await self.store.epoch(conn)
                bank_rows = await self.store.list_banks(conn)
                quarantined = await self.store.quarantined_ids(conn)
            snap = await self._read_snapshot(current)
            if snap is not None:
                matcher, labels, version = snap
                source = "snapshot"
            else:
                matcher, labels, version = await self._load_database()
                source = "database"
            matcher.quarantined = quarantined
            self._labels = {b.name: labels.get(b.name, {}) for b in bank_rows}
            self.moderation.swap(self.moderation.engine.with_banks(
                {b.name: bank_info(b, self._labels[b.name]) for b in bank_rows}, matcher))
            self.version = version
        applied = await self.refresh(snapshot=False)
        if source == "database" or applied:
            await self.save_snapshot()
        report = LoadReport(source, len(matcher), self.version, applied,
                            time.perf_counter() - start)
        log.info("bank matcher loaded: %s", report)
        self.last_load = report
        return report

    async def _load_database(self) -> tuple[Matcher, dict[str, dict[int, tuple[str, ...]]], int]:
        matcher = Matcher()
        labels: dict[str, dict[int, tuple[str, ...]]] = {}
        async with self.db.read() as conn:
            # Read the version first: rows committed after it are applied again from
            # the log, which is harmless (state-based apply).
            version = await self.store.current_version(conn)
            after = 0
            while True:
                page = await self.store.list_entries(conn, None, after, LOAD_PAGE,
                                                     enabled_only=True)
                for entry in page:
                    matcher.add(entry.id, entry.signal_type, entry.value, entry.bank)
                    labels.setdefault(entry.bank, {})[entry.id] = entry.labels
                if len(page) < LOAD_PAGE:
                    break
                after = page[-1].id
        return matcher, labels, version

    # --- incremental ---------------------------------------------------------------
    async def refresh(self, snapshot: bool = True) -> int:
        """Apply every change after ``self.version``; returns how many were applied."""
        applied = 0
        async with self._lock:
            while True:
                async with self.db.read() as conn:
                    changes = await self.store.changes_since(conn, self.version,
                                                             BANK_CHANGES_BATCH)
                    if not changes:
                        break
                    ids = sorted({c.entry_id for c in changes if c.entry_id is not None})
                    entries = await self.store.entries_by_ids(conn, ids)
                    bank_names = sorted({c.bank for c in changes if c.op == "bank"}
                                        | {e.bank for e in entries.values()})
                    bank_rows = [await self.store.bank(conn, n) for n in bank_names]
                # From here to the swap nothing awaits: no check sees half a batch.
                engine = self.moderation.engine
                banks = dict(engine.banks)
                for name, row in zip(bank_names, bank_rows, strict=True):
                    if row is not None:
                        banks[name] = bank_info(row, self._labels.setdefault(name, {}))
                    else:  # deleted
                        banks.pop(name, None)
                        self._labels.pop(name, None)
                for entry in entries.values():
                    self._apply_entry(engine.matcher, entry)
                for gone in ids:
                    if gone not in entries:  # the row was deleted (with its bank)
                        with contextlib.suppress(UnknownEntryError):
                            engine.matcher.disable(gone)
                self.moderation.swap(engine.with_banks(banks))
                self.version = changes[-1].version
                applied += len(changes)
            self.changes_since_snapshot += applied
        if snapshot and self.changes_since_snapshot >= BANK_SNAPSHOT_EVERY_CHANGES:
            await self.save_snapshot()
        return applied

    def _apply_entry(self, matcher: Matcher, entry: EntryRecord) -> None:
        labels = self._labels.get(entry.bank)
        if entry.quarantined_at is not None:
            matcher.quarantined.add(entry.id)
        else:
            matcher.quarantined.discard(entry.id)
        if entry.enabled:
            try:
                matcher.add(entry.id, entry.signal_type, entry.value, entry.bank)
            except DuplicateEntryError:
                matcher.enable(entry.id)
            if labels is not None:
                labels[entry.id] = entry.labels
            return
        # Never indexed (added disabled): nothing to switch off.
        with contextlib.suppress(UnknownEntryError):
            matcher.disable(entry.id)

    # --- snapshot ------------------------------------------------------------------
    async def save_snapshot(self) -> None:
        if self.snapshot_path is None:
            return
        async with self._lock:
            # Serialise on the loop (the matcher is only mutated here); write in a thread.
            engine = self.moderation.engine
            body = engine.matcher.to_bytes()
            labels = {name: {str(i): list(v) for i, v in info.labels_by_entry.items()}
                      for name, info in engine.banks.items()}
            header = json.dumps({"bank_version": self.version, "epoch": self.epoch,
                                 "labels": labels},
                                separators=(",", ":")).encode()
            self.changes_since_snapshot = 0
        await asyncio.to_thread(_write_atomic, self.snapshot_path,
                                SNAPSHOT_MAGIC + len(header).to_bytes(8, "big") + header + body)

    async def _read_snapshot(
        self, current: int
    ) -> tuple[Matcher, dict[str, dict[int, tuple[str, ...]]], int] | None:
        path = self.snapshot_path
        if path is None or not path.is_file():
            return None
        data = await asyncio.to_thread(path.read_bytes)
        try:
            if not data.startswith(SNAPSHOT_MAGIC):
                raise CorruptIndexError("not a matcher snapshot")
            at = len(SNAPSHOT_MAGIC)
            size = int.from_bytes(data[at:at + 8], "big")
            header = json.loads(data[at + 8:at + 8 + size])
            version = int(header["bank_version"])
            matcher = Matcher.from_bytes(data[at + 8 + size:])
            labels = {bank: {int(i): tuple(v) for i, v in by_id.items()}
                      for bank, by_id in header["labels"].items()}
        except (CorruptIndexError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable matcher snapshot %s: %s", path, exc)
            return None
        if header.get("epoch") != self.epoch:
            log.warning("matcher snapshot %s belongs to another database: rebuilding", path)
            return None
        if version > current:
            log.warning("matcher snapshot (version %d) is ahead of the database (%d): "
                        "restored backup? rebuilding", version, current)
            return None
        return matcher, labels, version


def _write_atomic(path: Path, data: bytes) -> None:
    """Write, fsync, rename: a crash leaves the old snapshot or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f"{path.suffix}.{os.getpid()}.tmp")  # processes share <data>
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)

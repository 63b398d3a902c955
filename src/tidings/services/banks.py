"""Hash banks: what staff add, import, export and fetch, and the matcher kept in step.

Every write goes through one shape: bump ``bank_version``, write rows, append the
change log under that version, commit; then :class:`BankSync` applies the log to this
process's matcher at once (other processes within their poll interval). So a
disabled entry stops matching without any rebuild, and a crash between commit and
apply loses nothing: the log is applied on the next refresh or start-up.

Engine errors (bad hashes, unknown labels, malformed files) become ``BadRequest`` with
the engine's code; file errors carry the 1-based ``line``.
"""

from __future__ import annotations

import asyncio
import logging
import typing as t
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from tidings.moderation import (
    BankEntry,
    MediaContent,
    TextContent,
    UrlContent,
    fetch_batches,
    format_bank_csv,
    format_signal_file,
    parse_bank_csv,
    parse_signal_file,
    signals_for,
    validate_bank_name,
)
from tidings.moderation.errors import FormatError, ModerationError
from tidings.moderation.exchange import FetchedSignal
from tidings.moderation.formats import WrittenFile, format_pytx_file
from tidings.moderation.labels import normalize_labels
from tidings.moderation.limits import MAX_SOURCE_CHARS, PDQ_MIN_QUALITY
from tidings.moderation.manifest import SIGNAL_TYPES
from tidings.moderation.media_signals import LOW_TEXTURE_NOTE
from tidings.moderation.pytx_names import BYTE_HASH_TYPES, from_named
from tidings.moderation.signal_types import (
    Md5SignalType,
    Sha256SignalType,
    decode_image,
    pdq_augmented,
)
from tidings.moderation.text_signals import bank_text_signals
from tidings.moderation.video import VpdqSignalType, bank_vpdq_values
from tidings.protocol import limits
from tidings.protocol.errors import (
    BadRequest,
    Conflict,
    NotFound,
    PayloadTooLarge,
    TidingsError,
    Unavailable,
)
from tidings.services import bank_exchanges as ex
from tidings.services.bank_sync import BankSync
from tidings.services.clock import Clock
from tidings.services.events import EntriesAdded, Topic
from tidings.services.imaging import sniff
from tidings.storage.banks import (
    BANK_FLAGS,
    BankRecord,
    BankStore,
    EntryRecord,
    ExchangeRecord,
    NewEntry,
    Thresholds,
)
from tidings.storage.database import Database

log = logging.getLogger("tidings.banks")

FORMATS = ("pytx", "csv")
Progress = Callable[[int, int], None]
"""``progress(done, total)`` after each import batch."""


StoredCredentials = t.Callable[[str], t.Awaitable[str | None]]
"""Exchange type -> the stored partner credential, opened (None: use the environment)."""


@dataclass(frozen=True, slots=True)
class AddResult:
    added: list[EntryRecord]
    duplicates: int
    notes: tuple[str, ...] = ()
    """What the caller must know about what was banked (e.g. a low-texture picture
    banked by its exact hashes only)."""


@dataclass(frozen=True, slots=True)
class FetchResult:
    batches: int
    added: int
    duplicates: int
    disabled: int
    rejected: int
    rejected_by_reason: dict[str, int] = field(default_factory=dict)


def _bad(exc: ModerationError) -> BadRequest:
    if isinstance(exc, FormatError):
        return BadRequest(str(exc), exc.code, line=exc.line)
    return BadRequest(str(exc), exc.code)


def check_labels(labels: Sequence[str]) -> tuple[str, ...]:
    try:
        return tuple(sorted(normalize_labels(labels)))
    except ModerationError as exc:
        raise _bad(exc) from exc


def check_flags(flags: dict[str, t.Any], current: BankRecord | None = None) -> dict[str, bool]:
    """Kinds of a bank: ``trusted`` qualifies a partner list; an allow list (``negative``)
    can be neither trusted nor a partner's (its entries only ever suppress matches)."""
    out = {k: bool(v) for k, v in flags.items() if v is not None}
    merged = {k: out.get(k, getattr(current, k, False)) for k in BANK_FLAGS}
    if merged["negative"] and merged["trusted"]:
        if out.get("negative") and out.get("trusted"):
            raise BadRequest("a negative (allow) bank cannot be trusted", "invalid_bank_kind")
        # one of the two is the bank's own: the change conflicts with what it is
        raise Conflict("a negative (allow) bank cannot be trusted", "invalid_bank_kind")
    return out


def check_thresholds(value: Thresholds) -> Thresholds:
    """One non-negative int, or ``{signal_type: int}`` over known types."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    if isinstance(value, dict) and all(
            k in SIGNAL_TYPES and isinstance(v, int) and not isinstance(v, bool) and v >= 0
            for k, v in value.items()):
        return value
    raise BadRequest("threshold_override must be an int >= 0 or {signal_type: int}",
                     "invalid_threshold")


class BankService:
    def __init__(self, db: Database, store: BankStore, sync: BankSync, clock: Clock,
                 exchanges: ex.ExchangeFactory | None = None,
                 credentials: StoredCredentials | None = None,
                 added: Topic[EntriesAdded] | None = None) -> None:
        self.db = db
        self.credentials = credentials
        """The sealed partner credentials (``ExchangeCredentials.stored``), tried before
        the environment."""
        self.store = store
        self.sync = sync
        self.clock = clock
        self.exchanges = exchanges
        self._fetch_locks: dict[str, asyncio.Lock] = {}
        self.added = added
        """Told after entries are stored (add, import, fetch): retro-scans subscribe."""

    async def _added(self, bank: str, added: list[EntryRecord]) -> None:
        # An allow list's entries never act on stored content: no retro-scan.
        if self.added is not None and added and not (await self.bank(bank)).negative:
            await self.added.emit(EntriesAdded(bank, tuple(added)))

    def _now(self) -> int:
        return self.clock()

    # --- banks ---------------------------------------------------------------------
    async def create_bank(self, name: str, description: str = "",
                          thresholds: Thresholds = None, enabled: bool = True,
                          partner: bool = False, trusted: bool = False,
                          negative: bool = False) -> BankRecord:
        """``partner``: fed by a partner (matches hold for review unless ``trusted``);
        ``negative``: an allow list whose entries suppress other banks' matches."""
        try:
            validate_bank_name(name)
        except ModerationError as exc:
            raise _bad(exc) from exc
        if len(description) > limits.BANK_DESCRIPTION_MAX:
            raise BadRequest(f"description over {limits.BANK_DESCRIPTION_MAX} characters")
        async with self.db.write() as conn:
            version = await self.store.bump_version(conn)
            record = await self.store.create_bank(
                conn, name, description, check_thresholds(thresholds), enabled, self._now(),
                check_flags({"partner": partner, "trusted": trusted, "negative": negative}))
            await self.store.record_changes(conn, version, [(None, name, "bank")], self._now())
        await self.sync.refresh()
        return record

    async def bank(self, name: str) -> BankRecord:
        async with self.db.read() as conn:
            record = await self.store.bank(conn, name)
        if record is None:
            raise NotFound(f"no bank named {name}", "unknown_bank")
        return record

    async def list_banks(self) -> list[tuple[BankRecord, int, int]]:
        """Banks with (entries, enabled entries)."""
        async with self.db.read() as conn:
            rows = await self.store.list_banks(conn)
            counts = await self.store.entry_counts(conn)
        return [(b, *counts.get(b.name, (0, 0))) for b in rows]

    async def update_bank(self, name: str, changes: dict[str, t.Any]) -> BankRecord:
        await self.bank(name)
        values: dict[str, t.Any] = {}
        if "enabled" in changes:
            values["enabled"] = bool(changes["enabled"])
        if "threshold_override" in changes:
            values["thresholds"] = check_thresholds(changes["threshold_override"])
        values.update(check_flags({k: changes[k] for k in BANK_FLAGS if k in changes},
                                  await self.bank(name)))
        if "description" in changes:
            text = str(changes["description"])
            if len(text) > limits.BANK_DESCRIPTION_MAX:
                raise BadRequest(f"description over {limits.BANK_DESCRIPTION_MAX} characters")
            values["description"] = text
        async with self.db.write() as conn:
            version = await self.store.bump_version(conn)
            await self.store.update_bank(conn, name, values)
            await self.store.record_changes(conn, version, [(None, name, "bank")], self._now())
        await self.sync.refresh()
        return await self.bank(name)

    async def delete_bank(self, name: str) -> int:
        """Delete a bank with its entries and exchanges; returns the entries deleted.

        The change log names every deleted entry so each process's matcher drops it
        (``BankSync`` disables ids whose row is gone)."""
        await self.bank(name)
        async with self.db.write() as conn:
            version = await self.store.bump_version(conn)
            ids = await self.store.delete_bank(conn, name)
            await self.store.record_changes(
                conn, version, [(i, name, "delete") for i in ids] + [(None, name, "bank")],
                self._now())
        await self.sync.refresh()
        return len(ids)

    async def find(self, bank: str, signal_type: str, value: str) -> EntryRecord | None:
        async with self.db.read() as conn:
            return await self.store.find_entry(conn, bank, signal_type, value)

    async def entries_by_ids(self, ids: Sequence[int]) -> dict[int, EntryRecord]:
        async with self.db.read() as conn:
            return await self.store.entries_by_ids(conn, list(ids))

    # --- entries -------------------------------------------------------------------
    async def add(self, bank: str, new: Sequence[NewEntry], as_item: bool = False) -> AddResult:
        """Store entries (duplicates in the bank are skipped) and index them.

        ``as_item``: the entries are signals of one banked item (a file): they share
        a ``content_id`` (the smallest of their ids), written in the same transaction."""
        await self.bank(bank)
        async with self.db.write() as conn:
            version = await self.store.bump_version(conn)
            added, dupes = await self.store.add_entries(conn, bank, new, self._now())
            if as_item and added:
                item = min(e.id for e in added)
                await self.store.group_content(conn, [e.id for e in added], item)
                added = [replace(e, content_id=item) for e in added]
            await self.store.record_changes(conn, version, [(e.id, bank, "add") for e in added],
                                            self._now())
        await self.sync.refresh()
        await self._added(bank, added)
        return AddResult(added, dupes)

    async def add_signals(self, bank: str, pairs: Sequence[tuple[str, str]],
                          labels: Sequence[str], source: str,
                          content_type: str | None = None, as_item: bool = False
                          ) -> AddResult:
        """Bank ``(signal_type, value)`` pairs; names may be pytx's (``video_md5``...).

        ``content_type`` says what the byte hashes (md5, sha256) were taken of."""
        label_set = check_labels(labels)
        source = source[:MAX_SOURCE_CHARS]
        try:
            new = [NewEntry(c.signal_type, c.value, label_set, source,
                            content_type=c.content_type or (
                                content_type if c.signal_type in BYTE_HASH_TYPES else None))
                   for st, v in pairs for c in from_named(st, v)]
        except ModerationError as exc:
            raise _bad(exc) from exc
        return await self.add(bank, new, as_item)

    async def add_text(self, bank: str, text: str, labels: Sequence[str],
                       source: str, slogan: bool = False) -> AddResult:
        """Bank a text: exact hashes of its folded forms, near-duplicate and quote
        signatures (if long enough) and, if ``slogan``, the text as a slogan that
        matches inside longer posts. URLs in it are not banked (bank them as URLs)."""
        try:
            pairs = bank_text_signals(TextContent(text).text, slogan=slogan)
        except ModerationError as exc:
            raise _bad(exc) from exc
        return await self.add_signals(bank, pairs, labels, source)

    async def add_url(self, bank: str, url: str, labels: Sequence[str],
                      source: str) -> AddResult:
        try:
            pairs = [(s.signal_type, s.value) for s in signals_for(UrlContent(url))]
        except ModerationError as exc:
            raise _bad(exc) from exc
        return await self.add_signals(bank, pairs, labels, source)

    async def add_file(self, bank: str, data: bytes, labels: Sequence[str],
                       source: str) -> AddResult:
        """Bank a file by its signals. The type comes from magic bytes, never the name.

        Photos give pdq + md5 + sha256 plus PDQ hashes of small centre crops (PDQ does
        not survive crops; see docs/matching.md); other files give md5 + sha256. The
        entries of one file are one banked item (``content_id``, HMA's bank content).
        """
        if len(data) > limits.BANK_UPLOAD_MAX_BYTES:
            raise PayloadTooLarge(f"file over {limits.BANK_UPLOAD_MAX_BYTES} bytes")
        if not data:
            raise BadRequest("empty file", "empty_file")
        pairs = await asyncio.to_thread(file_signals, data)
        result = await self.add_signals(bank, pairs, labels, source, sniff(data).kind,
                                        as_item=True)
        if sniff(data).kind == "photo" and not any(st == "pdq" for st, _ in pairs):
            result = AddResult(result.added, result.duplicates, (LOW_TEXTURE_NOTE,))
        return result

    async def entry(self, bank: str, entry_id: int) -> EntryRecord:
        async with self.db.read() as conn:
            record = await self.store.entry(conn, entry_id)
        if record is None or record.bank != bank:
            raise NotFound(f"no entry {entry_id} in bank {bank}", "unknown_entry")
        return record

    async def set_entry(self, bank: str, entry_id: int, enabled: bool | None = None,
                        labels: Sequence[str] | None = None) -> EntryRecord:
        await self.entry(bank, entry_id)
        label_set = check_labels(labels) if labels is not None else None
        ops = []
        if enabled is not None:
            ops.append((entry_id, bank, "enable" if enabled else "disable"))
        if label_set is not None:
            ops.append((entry_id, bank, "labels"))
        async with self.db.write() as conn:
            version = await self.store.bump_version(conn)
            # Enabling or disabling is a staff decision: it also ends a quarantine.
            await self.store.set_entry(conn, entry_id, enabled=enabled, labels=label_set,
                                       quarantine=None if enabled is not None else False)
            await self.store.record_changes(conn, version, ops, self._now())
        await self.sync.refresh()
        return await self.entry(bank, entry_id)

    async def item(self, bank: str, item_id: int) -> list[EntryRecord]:
        """The entries of one banked item (HMA's bank content); 404 if none."""
        await self.bank(bank)
        async with self.db.read() as conn:
            found = await self.store.item_entries(conn, bank, item_id)
        if not found:
            raise NotFound(f"content '{item_id}' not found", "unknown_content")
        return found

    async def set_item(self, bank: str, item_id: int, enabled: bool) -> list[EntryRecord]:
        """Enable or disable every entry of one item in one transaction (a staff
        decision, so it also ends a quarantine, as ``set_entry`` does)."""
        entries = await self.item(bank, item_id)
        changed = [e for e in entries if e.enabled != enabled or e.quarantined_at is not None]
        if changed:
            async with self.db.write() as conn:
                version = await self.store.bump_version(conn)
                for e in changed:
                    await self.store.set_entry(conn, e.id, enabled=enabled, quarantine=None)
                await self.store.record_changes(
                    conn, version, [(e.id, bank, "enable" if enabled else "disable")
                                    for e in changed], self._now())
            await self.sync.refresh()
        return await self.item(bank, item_id)

    async def signal_counts(self) -> tuple[dict[str, int], int]:
        """Enabled entries by signal type, and the bank version they are at."""
        async with self.db.read() as conn:
            return (await self.store.signal_counts(conn),
                    await self.store.current_version(conn))

    async def quarantine(self, entry_id: int, reason: str) -> EntryRecord | None:
        """Quarantine an entry (the matcher skips it: an overlay, no rebuild); None if
        it is gone, disabled or quarantined already."""
        now = self._now()
        async with self.db.write() as conn:
            entry = await self.store.entry(conn, entry_id)
            if entry is None or not entry.enabled or entry.quarantined_at is not None:
                return None
            version = await self.store.bump_version(conn)
            await self.store.set_entry(conn, entry_id, quarantine=(now, reason))
            await self.store.record_changes(conn, version,
                                            [(entry_id, entry.bank, "quarantine")], now)
        await self.sync.refresh()
        return await self.entry(entry.bank, entry_id)

    async def end_quarantine(self, bank: str, entry_id: int, restore: bool) -> EntryRecord:
        """Staff decide a quarantined entry: ``restore`` (it matches again) or disable it."""
        entry = await self.entry(bank, entry_id)
        if entry.quarantined_at is None:
            raise Conflict(f"entry {entry_id} is not quarantined", "not_quarantined")
        async with self.db.write() as conn:
            version = await self.store.bump_version(conn)
            await self.store.set_entry(conn, entry_id, enabled=restore, quarantine=None)
            await self.store.record_changes(
                conn, version, [(entry_id, bank, "enable" if restore else "disable")],
                self._now())
        await self.sync.refresh()
        return await self.entry(bank, entry_id)

    async def entries(self, bank: str, q: str = "", cursor: int = 0,
                      limit: int = limits.BANK_ENTRIES_PAGE_DEFAULT) -> list[EntryRecord]:
        await self.bank(bank)
        if len(q) > limits.BANK_QUERY_MAX:
            raise BadRequest(f"q over {limits.BANK_QUERY_MAX} characters")
        limit = max(1, min(limit, limits.BANK_ENTRIES_PAGE_MAX))
        async with self.db.read() as conn:
            return await self.store.list_entries(conn, bank, cursor, limit, q)

    # --- import / export -----------------------------------------------------------
    async def import_text(self, bank: str, text: str, fmt: str, labels: Sequence[str] = (),
                          source: str = "import", line_offset: int = 0,
                          batch_size: int = limits.BANK_IMPORT_BATCH_ROWS,
                          progress: Progress | None = None) -> AddResult:
        """Parse the whole input first (strict: the first bad line fails it all, with its
        number plus ``line_offset``), then write in batches so locks stay short."""
        await self.bank(bank)
        try:
            if fmt == "pytx":
                label_set = check_labels(labels)
                new = [NewEntry(p.signal_type, p.value, label_set, source[:MAX_SOURCE_CHARS],
                                content_type=p.content_type)
                       for p in parse_signal_file(text)]
            elif fmt == "csv":
                # The bank column is informational: rows go to the bank named in the call.
                new = [NewEntry(e.signal_type, e.value, tuple(sorted(e.labels)), e.source,
                                e.enabled, int(e.added_at.timestamp() * 1000), e.content_type)
                       for e in parse_bank_csv(text, first_entry_id=0)]
            else:
                raise BadRequest(f"format must be one of {', '.join(FORMATS)}", "bad_format")
        except FormatError as exc:
            line = exc.line + line_offset if exc.line else 0
            raise BadRequest(f"line {line}: {exc.message}", exc.code, line=line) from exc
        added: list[EntryRecord] = []
        dupes = 0
        for start in range(0, len(new), max(1, batch_size)):
            result = await self.add(bank, new[start:start + batch_size])
            added.extend(result.added)
            dupes += result.duplicates
            if progress is not None:
                progress(min(start + batch_size, len(new)), len(new))
        return AddResult(added, dupes)

    async def export_pytx(self, bank: str) -> WrittenFile:
        """Enabled entries under pytx's names, for partners running pytx or HMA; what
        pytx has no type for (photo MD5s, text hashes) is left out and counted."""
        rows = await self._all_entries(bank)
        return format_pytx_file([(e.signal_type, e.value, e.content_type)
                                 for e in rows if e.enabled])

    async def _all_entries(self, bank: str) -> list[EntryRecord]:
        await self.bank(bank)
        rows: list[EntryRecord] = []
        async with self.db.read() as conn:
            after = 0
            while page := await self.store.list_entries(conn, bank, after,
                                                        limits.BANK_CHANGES_BATCH):
                rows.extend(page)
                after = page[-1].id
        return rows

    async def export(self, bank: str, fmt: str) -> str:
        """The bank as a file; pytx lines use Tidings' names (see ``export_pytx``)."""
        if fmt not in FORMATS:
            raise BadRequest(f"format must be one of {', '.join(FORMATS)}", "bad_format")
        rows = await self._all_entries(bank)
        if fmt == "pytx":
            return format_signal_file([(e.signal_type, e.value) for e in rows if e.enabled])
        return format_bank_csv([
            BankEntry(e.id, e.bank, e.signal_type, e.value, frozenset(e.labels), e.source,
                      datetime.fromtimestamp(e.added_at / 1000, UTC), e.enabled, e.content_type)
            for e in rows])

    # --- exchanges -----------------------------------------------------------------
    async def put_exchange(self, bank: str, name: str, exchange_type: str,
                           labels: Sequence[str], config: dict[str, t.Any],
                           credentials_ref: str = "") -> ExchangeRecord:
        await self.bank(bank)
        if not name or len(name) > limits.BANK_EXCHANGE_NAME_MAX:
            raise BadRequest(f"exchange name must be 1..{limits.BANK_EXCHANGE_NAME_MAX} chars")
        record = ExchangeRecord(name, ex.check_type(exchange_type), bank, credentials_ref,
                                config, check_labels(labels), None, None)
        async with self.db.write() as conn:
            existing = await self.store.exchange(conn, name)
            if existing is not None and existing.bank != bank:
                raise BadRequest(f"exchange {name} feeds bank {existing.bank}",
                                 "exchange_other_bank")
            await self.store.put_exchange(conn, record)
        if existing is None:  # reconfiguring keeps what staff set (``bank set --own``)
            await self._mark_partner(bank)
        return record

    async def _mark_partner(self, bank: str) -> None:
        """A bank an exchange feeds is a partner bank (its matches hold unless trusted)."""
        if (await self.bank(bank)).partner:
            return
        async with self.db.write() as conn:
            version = await self.store.bump_version(conn)
            await self.store.update_bank(conn, bank, {"partner": True})
            await self.store.record_changes(conn, version, [(None, bank, "bank")], self._now())
        await self.sync.refresh()

    async def list_exchanges(self, bank: str) -> list[ExchangeRecord]:
        await self.bank(bank)
        async with self.db.read() as conn:
            return await self.store.exchanges(conn, bank)

    async def fetch(self, bank: str, name: str, progress: Progress | None = None
                    ) -> FetchResult:
        """Fetch from an exchange from its stored checkpoint; each delta, its new
        checkpoint and the running totals commit together, so an interrupted fetch
        resumes where it stopped and the status never counts a batch twice.

        The status (``ExchangeRecord.status``) records the outcome: on success the last
        run's counts and the next scheduled run; on failure the error, one more failure
        in a row and a backed-off next run (``exchange_backoff_ms``)."""
        async with self.db.read() as conn:
            record = await self.store.exchange(conn, name)
        if record is None or record.bank != bank:
            raise NotFound(f"no exchange {name} for bank {bank}", "unknown_exchange")
        if self.exchanges is None:
            raise Unavailable("exchanges are not configured on this server")
        lock = self._fetch_locks.setdefault(name, asyncio.Lock())
        if lock.locked():
            raise Conflict(f"exchange {name} is being fetched already", "exchange_busy")
        async with lock:
            return await self._fetch(record, progress)

    async def _fetch(self, record: ExchangeRecord, progress: Progress | None) -> FetchResult:
        tracker = ex.StatusTracker(record.status, self._now())
        async with self.db.write() as conn:
            await self.store.save_status(conn, record.name, tracker.start())
        try:
            if self.exchanges is None:  # pragma: no cover - checked by fetch
                raise Unavailable("exchanges are not configured on this server")
            stored = (await self.credentials(record.exchange_type)
                      if self.credentials is not None else None)
            built = self.exchanges(record, stored)
            checkpoint = ex.load_checkpoint(record.checkpoint, built.checkpoint_cls)
            batches = fetch_batches(built.api, checkpoint,
                                    max_batches=limits.BANK_EXCHANGES_MAX_BATCHES)
            while True:
                try:
                    batch = await asyncio.to_thread(next, batches, None)
                except Exception as exc:  # any exchange failure is recorded, then raised
                    raise Unavailable(f"exchange {record.name} failed: "
                                      f"{type(exc).__name__}: {exc}"[:limits.EXCHANGE_ERROR_MAX],
                                      "exchange_failed") from exc
                if batch is None:
                    break
                tracker.batch(batch.fetched, batch.rejected_by_reason)
                added, dupes, removed = await self._apply_batch(
                    record, batch.signals, ex.dump_checkpoint(batch.checkpoint),
                    tracker.progress)
                tracker.applied(added, dupes, removed)
                await self.sync.refresh()  # a long fetch's committed batches match at once
                if progress is not None:
                    progress(tracker.batches, tracker.added)
        except TidingsError as exc:
            failures = record.failures + 1
            async with self.db.write() as conn:
                await self.store.save_status(
                    conn, record.name, tracker.failed(exc.message, self._now()),
                    failures=failures,
                    next_run_at=self._now() + ex.backoff_ms(failures, record.interval_s))
            await self.sync.refresh()  # what was committed before the failure matches now
            raise
        next_run = self._now() + record.interval_s * 1000 if record.interval_s else None
        async with self.db.write() as conn:
            await self.store.save_status(conn, record.name, tracker.done(self._now()),
                                         failures=0, next_run_at=next_run)
        await self.sync.refresh()
        return FetchResult(tracker.batches, tracker.added, tracker.duplicates, tracker.removed,
                           tracker.rejected, dict(tracker.rejected_by_reason))

    async def _apply_batch(self, record: ExchangeRecord, signals: Sequence[FetchedSignal],
                           checkpoint: str,
                           status_for: t.Callable[[int, int], dict[str, t.Any]]
                           ) -> tuple[int, int, int]:
        source = f"exchange:{record.name}"[:MAX_SOURCE_CHARS]
        new = [NewEntry(s.signal_type, s.value, record.labels, source,
                        content_type=s.content_type)
               for s in signals if s.metadata is not None]
        gone = [(s.signal_type, s.value) for s in signals if s.metadata is None]
        async with self.db.write() as conn:
            version = await self.store.bump_version(conn)
            added, dupes = await self.store.add_entries(conn, record.bank, new, self._now())
            ops = [(e.id, record.bank, "add") for e in added]
            for st, v in gone:  # deleted upstream: disable, keep the row for audit
                found = await self.store.find_entry(conn, record.bank, st, v)
                if found is not None and found.enabled:
                    await self.store.set_entry(conn, found.id, enabled=False)
                    ops.append((found.id, record.bank, "disable"))
            await self.store.record_changes(conn, version, ops, self._now())
            await self.store.save_checkpoint(conn, record.name, checkpoint, self._now())
            await self.store.save_status(conn, record.name,
                                         status_for(len(added), len(ops) - len(added)))
        await self._added(record.bank, added)
        return len(added), dupes, len(ops) - len(added)

    async def set_schedule(self, bank: str, name: str, interval_s: int | None) -> ExchangeRecord:
        """Fetch every ``interval_s`` seconds (None: only on request); first run now."""
        if interval_s is not None and not (
                limits.EXCHANGE_INTERVAL_MIN_S <= interval_s <= limits.EXCHANGE_INTERVAL_MAX_S):
            raise BadRequest(f"interval must be {limits.EXCHANGE_INTERVAL_MIN_S} to "
                             f"{limits.EXCHANGE_INTERVAL_MAX_S} seconds", "invalid_interval")
        await self.exchange(bank, name)
        async with self.db.write() as conn:
            await self.store.set_schedule(conn, name, interval_s,
                                          self._now() if interval_s is not None else None)
        return await self.exchange(bank, name)

    async def exchange(self, bank: str, name: str) -> ExchangeRecord:
        async with self.db.read() as conn:
            record = await self.store.exchange(conn, name)
        if record is None or record.bank != bank:
            raise NotFound(f"no exchange {name} for bank {bank}", "unknown_exchange")
        return record

    async def all_exchanges(self) -> list[ExchangeRecord]:
        async with self.db.read() as conn:
            return await self.store.all_exchanges(conn)

    async def due_exchanges(self) -> list[ExchangeRecord]:
        async with self.db.read() as conn:
            return await self.store.due_exchanges(conn, self._now())


def file_signals(data: bytes, augment: bool = True) -> list[tuple[str, str]]:
    """Signals of a file; ``augment`` adds PDQ hashes of centre crops (for banking).
    A video gives vpdq (decoded as the reference does; with ``augment``, also the
    vpdq of its frames with their bars trimmed when it has bars) + md5 + sha256;
    its frames' PDQ hashes are query-side only and are not banked.
    CPU-bound: the service calls it in a thread."""
    kind = sniff(data)
    if kind.kind == "video":
        try:
            values = (bank_vpdq_values(data) if augment
                      else [VpdqSignalType.hash_from_bytes(data)])
        except ModerationError as exc:
            raise _bad(exc) from exc
        return [*(("vpdq", v) for v in values), ("md5", Md5SignalType.hash_from_bytes(data)),
                ("sha256", Sha256SignalType.hash_from_bytes(data))]
    content = MediaContent(data, kind.media_type if kind.kind == "photo" else
                           "application/octet-stream")
    try:
        pairs = [(s.signal_type, s.value) for s in signals_for(content)]
        if augment and any(st == "pdq" for st, _ in pairs):
            pairs += [("pdq", h) for h, q in pdq_augmented(decode_image(data))
                      if q >= PDQ_MIN_QUALITY]
    except ModerationError as exc:
        raise _bad(exc) from exc
    return pairs

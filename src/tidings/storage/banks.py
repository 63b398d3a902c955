"""Hash banks, their entries, the change log and exchange checkpoints.

Every method runs inside a transaction the caller owns. A write that changes what the
matcher should see calls :meth:`BankStore.bump_version` first: the counter row's lock
orders concurrent writers, so change-log versions become visible in increasing order
and a process can apply "everything after version N" without missing a slow writer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.protocol.errors import Conflict
from tidings.storage.schema import bank_changes, bank_entries, bank_exchanges, bank_version, banks

Thresholds = int | dict[str, int] | None
"""A bank's threshold override: one distance for every type, or one per signal type."""


@dataclass(frozen=True, slots=True)
class BankRecord:
    name: str
    enabled: bool
    thresholds: Thresholds
    description: str
    created_at: int
    partner: bool = False
    """Fed by a partner (an exchange or a partner's file): matches hold for review."""
    trusted: bool = False
    """A partner list verified enough that its matches reject (e.g. TCO-verified)."""
    negative: bool = False
    """An allow list: its entries suppress matches of other banks' entries."""


@dataclass(frozen=True, slots=True)
class EntryRecord:
    id: int
    bank: str
    signal_type: str
    value: str
    labels: tuple[str, ...]
    source: str
    added_at: int
    enabled: bool
    content_type: str | None = None
    """What a byte hash was taken of (``photo``, ``video``, ``file``); None if unknown."""
    content_id: int | None = None
    """The banked item this signal was taken from (HMA's ``bank_content_id``: the
    entries of one file share it); None: the entry is an item of its own."""
    quarantined_at: int | None = None
    """Set while the entry is quarantined: the matcher skips it until staff decide."""
    quarantine_reason: str | None = None
    """``match_rate`` or ``false_matches`` (docs/matching.md, "Partner-signal safety")."""

    @property
    def item_id(self) -> int:
        return self.content_id if self.content_id is not None else self.id


@dataclass(frozen=True, slots=True)
class NewEntry:
    signal_type: str
    value: str
    """Already normalised by the signal type (``validate_value``)."""
    labels: tuple[str, ...]
    source: str
    enabled: bool = True
    added_at: int | None = None
    """Keep an imported entry's original time; None means now."""
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class Change:
    id: int
    version: int
    entry_id: int | None
    bank: str
    op: str
    """``add``, ``disable``, ``enable``, ``labels`` (entry) or ``bank`` (bank settings)."""


@dataclass(frozen=True, slots=True)
class ExchangeRecord:
    name: str
    exchange_type: str
    bank: str
    credentials_ref: str
    config: dict[str, Any]
    labels: tuple[str, ...]
    checkpoint: str | None
    last_fetch_at: int | None
    interval_s: int | None = None
    """Fetch every so many seconds; None: only when asked."""
    next_run_at: int | None = None
    failures: int = 0
    """Failed runs in a row (reset by a success): the backoff's exponent."""
    status: dict[str, Any] = field(default_factory=dict)
    """Last success and error, counts, rejections by reason, progress (JSON)."""


_LOOKUP_CHUNK = 500
"""Keys per ``IN (...)`` lookup (SQLite's default limit is 999 bound parameters)."""


def value_key(value: str) -> str:
    """Uniqueness key: values (URLs, MinHash signatures) can outgrow a btree key."""
    return hashlib.sha256(value.encode()).hexdigest()


_ENTRY_COLS = (bank_entries.c.id, bank_entries.c.bank, bank_entries.c.signal_type,
               bank_entries.c.value, bank_entries.c.labels, bank_entries.c.source,
               bank_entries.c.added_at, bank_entries.c.enabled, bank_entries.c.content_type,
               bank_entries.c.content_id, bank_entries.c.quarantined_at,
               bank_entries.c.quarantine_reason)
_BANK_COLS = (banks.c.name, banks.c.enabled, banks.c.thresholds, banks.c.description,
              banks.c.created_at, banks.c.partner, banks.c.trusted, banks.c.negative)
BANK_FLAGS = ("partner", "trusted", "negative")
_EXCHANGE_COLS = (bank_exchanges.c.name, bank_exchanges.c.exchange_type, bank_exchanges.c.bank,
                  bank_exchanges.c.credentials_ref, bank_exchanges.c.config,
                  bank_exchanges.c.labels, bank_exchanges.c.checkpoint,
                  bank_exchanges.c.last_fetch_at, bank_exchanges.c.interval_s,
                  bank_exchanges.c.next_run_at, bank_exchanges.c.failures,
                  bank_exchanges.c.status)


def _entry(row: Any) -> EntryRecord:
    return EntryRecord(int(row[0]), row[1], row[2], row[3], tuple(json.loads(row[4])), row[5],
                       int(row[6]), bool(row[7]), row[8],
                       int(row[9]) if row[9] is not None else None, row[10], row[11])


def _bank(row: Any) -> BankRecord:
    thresholds = json.loads(row[2]) if row[2] is not None else None
    return BankRecord(row[0], bool(row[1]), thresholds, row[3], int(row[4]), bool(row[5]),
                      bool(row[6]), bool(row[7]))


def _exchange(row: Any) -> ExchangeRecord:
    return ExchangeRecord(row[0], row[1], row[2], row[3], json.loads(row[4]),
                          tuple(json.loads(row[5])), row[6], row[7], row[8], row[9],
                          int(row[10] or 0), json.loads(row[11] or "{}"))


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class BankStore:
    # --- version counter and change log ------------------------------------------
    async def bump_version(self, conn: AsyncConnection) -> int:
        """Take the next version; holds the counter's row lock until commit."""
        result = await conn.execute(
            bank_version.update().where(bank_version.c.id == 1)
            .values(version=bank_version.c.version + 1).returning(bank_version.c.version))
        return int(result.scalar_one())

    async def current_version(self, conn: AsyncConnection) -> int:
        result = await conn.execute(sa.select(bank_version.c.version)
                                    .where(bank_version.c.id == 1))
        return int(result.scalar_one())

    async def epoch(self, conn: AsyncConnection) -> str:
        """This database's random identity (set by the migration)."""
        result = await conn.execute(sa.select(bank_version.c.epoch)
                                    .where(bank_version.c.id == 1))
        return str(result.scalar_one())

    async def record_changes(self, conn: AsyncConnection, version: int,
                             changes: Sequence[tuple[int | None, str, str]], now: int) -> None:
        """Append ``(entry_id, bank, op)`` rows under one version."""
        if changes:
            await conn.execute(bank_changes.insert(), [
                {"version": version, "entry_id": e, "bank": b, "op": op, "at": now}
                for e, b, op in changes])

    async def changes_since(self, conn: AsyncConnection, version: int,
                            limit: int) -> list[Change]:
        """Changes after ``version``, whole versions only (a version is never split)."""
        rows = (await conn.execute(
            sa.select(bank_changes.c.id, bank_changes.c.version, bank_changes.c.entry_id,
                      bank_changes.c.bank, bank_changes.c.op)
            .where(bank_changes.c.version > version)
            .order_by(bank_changes.c.version, bank_changes.c.id).limit(limit + 1))).all()
        out = [Change(int(r[0]), int(r[1]), r[2], r[3], r[4]) for r in rows]
        if len(out) > limit:
            last = out[limit].version
            whole = [c for c in out if c.version < last]
            if whole:
                return whole
            rest = await conn.execute(  # one version bigger than a batch: take all of it
                sa.select(bank_changes.c.id, bank_changes.c.version, bank_changes.c.entry_id,
                          bank_changes.c.bank, bank_changes.c.op)
                .where(bank_changes.c.version == last).order_by(bank_changes.c.id))
            return [Change(int(r[0]), int(r[1]), r[2], r[3], r[4]) for r in rest]
        return out

    # --- banks -------------------------------------------------------------------
    async def create_bank(self, conn: AsyncConnection, name: str, description: str,
                          thresholds: Thresholds, enabled: bool, now: int,
                          flags: dict[str, bool] | None = None) -> BankRecord:
        flags = {k: bool(v) for k, v in (flags or {}).items() if k in BANK_FLAGS}
        try:
            async with conn.begin_nested():
                await conn.execute(banks.insert().values(
                    name=name, description=description, enabled=enabled, created_at=now,
                    thresholds=None if thresholds is None else json.dumps(thresholds),
                    **flags))
        except IntegrityError as exc:
            raise Conflict(f"the bank {name} exists already", "bank_exists") from exc
        return BankRecord(name, enabled, thresholds, description, now, **flags)

    async def bank(self, conn: AsyncConnection, name: str) -> BankRecord | None:
        row = (await conn.execute(sa.select(*_BANK_COLS).where(banks.c.name == name))).first()
        return _bank(row) if row else None

    async def list_banks(self, conn: AsyncConnection) -> list[BankRecord]:
        rows = await conn.execute(sa.select(*_BANK_COLS).order_by(banks.c.name))
        return [_bank(r) for r in rows]

    async def entry_counts(self, conn: AsyncConnection) -> dict[str, tuple[int, int]]:
        """``bank -> (entries, enabled entries)``."""
        rows = await conn.execute(
            sa.select(bank_entries.c.bank, sa.func.count(),
                      sa.func.sum(sa.case((bank_entries.c.enabled, 1), else_=0)))
            .group_by(bank_entries.c.bank))
        return {r[0]: (int(r[1]), int(r[2] or 0)) for r in rows}

    async def signal_counts(self, conn: AsyncConnection) -> dict[str, int]:
        """``signal_type -> enabled entries`` (what the matcher should hold)."""
        rows = await conn.execute(
            sa.select(bank_entries.c.signal_type, sa.func.count())
            .where(bank_entries.c.enabled).group_by(bank_entries.c.signal_type))
        return {str(r[0]): int(r[1]) for r in rows}

    async def item_entries(self, conn: AsyncConnection, bank: str,
                           item_id: int) -> list[EntryRecord]:
        """The entries of one banked item (HMA's bank content): those grouped under
        ``item_id``, or the single entry of that id that is an item of its own."""
        rows = await conn.execute(sa.select(*_ENTRY_COLS).where(
            bank_entries.c.bank == bank,
            sa.or_(bank_entries.c.content_id == item_id,
                   sa.and_(bank_entries.c.id == item_id,
                           bank_entries.c.content_id.is_(None))))
            .order_by(bank_entries.c.id))
        return [_entry(r) for r in rows]

    async def update_bank(self, conn: AsyncConnection, name: str, values: dict[str, Any]) -> None:
        if "thresholds" in values and values["thresholds"] is not None:
            values = {**values, "thresholds": json.dumps(values["thresholds"])}
        if values:
            await conn.execute(banks.update().where(banks.c.name == name).values(**values))

    # --- entries -----------------------------------------------------------------
    async def add_entries(self, conn: AsyncConnection, bank: str, new: Sequence[NewEntry],
                          now: int) -> tuple[list[EntryRecord], int]:
        """Insert entries not in the bank yet; returns (inserted, duplicates skipped).

        ``ON CONFLICT DO NOTHING`` on the unique (value_key, bank, signal_type) index
        decides duplicates: no read-then-write race, and no lookup query whose plan
        depends on statistics that are stale right after a bulk import (a ``SELECT ...
        IN`` check degraded to a scan of the bank on PostgreSQL).
        """
        seen: set[tuple[str, str]] = set()
        rows_in: list[dict[str, Any]] = []
        for n in new:
            if (n.signal_type, n.value) in seen:
                continue
            seen.add((n.signal_type, n.value))
            rows_in.append({"bank": bank, "signal_type": n.signal_type, "value": n.value,
                            "value_key": value_key(n.value),
                            "labels": json.dumps(sorted(n.labels)), "source": n.source,
                            "enabled": n.enabled, "content_type": n.content_type,
                            "added_at": now if n.added_at is None else n.added_at})
        if not rows_in:
            return [], len(new)
        dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        statement = dialect_insert(bank_entries).on_conflict_do_nothing().returning(
            *_ENTRY_COLS)
        inserted = sorted((_entry(r) for r in await conn.execute(statement, rows_in)),
                          key=lambda e: e.id)
        return inserted, len(new) - len(inserted)

    async def delete_bank(self, conn: AsyncConnection, name: str) -> list[int]:
        """Delete a bank, its entries and exchanges (explicitly: SQLite may run without
        foreign-key enforcement); returns the deleted entry ids."""
        ids = [int(r[0]) for r in await conn.execute(
            sa.select(bank_entries.c.id).where(bank_entries.c.bank == name))]
        await conn.execute(bank_entries.delete().where(bank_entries.c.bank == name))
        await conn.execute(bank_exchanges.delete().where(bank_exchanges.c.bank == name))
        await conn.execute(banks.delete().where(banks.c.name == name))
        return ids

    async def group_content(self, conn: AsyncConnection, ids: Sequence[int],
                            content_id: int) -> None:
        """Mark entries as signals of one banked item (HMA's "bank content")."""
        for start in range(0, len(ids), _LOOKUP_CHUNK):
            await conn.execute(bank_entries.update()
                               .where(bank_entries.c.id.in_(ids[start:start + _LOOKUP_CHUNK]))
                               .values(content_id=content_id))

    async def entry(self, conn: AsyncConnection, entry_id: int) -> EntryRecord | None:
        row = (await conn.execute(sa.select(*_ENTRY_COLS)
                                  .where(bank_entries.c.id == entry_id))).first()
        return _entry(row) if row else None

    async def entries_by_ids(self, conn: AsyncConnection,
                             ids: Sequence[int]) -> dict[int, EntryRecord]:
        out: dict[int, EntryRecord] = {}
        for start in range(0, len(ids), _LOOKUP_CHUNK):
            rows = await conn.execute(sa.select(*_ENTRY_COLS).where(
                bank_entries.c.id.in_(ids[start:start + _LOOKUP_CHUNK])))
            out.update((int(r[0]), _entry(r)) for r in rows)
        return out

    async def find_entry(self, conn: AsyncConnection, bank: str, signal_type: str,
                         value: str) -> EntryRecord | None:
        row = (await conn.execute(sa.select(*_ENTRY_COLS).where(
            bank_entries.c.bank == bank, bank_entries.c.signal_type == signal_type,
            bank_entries.c.value_key == value_key(value)))).first()
        return _entry(row) if row else None

    async def set_entry(self, conn: AsyncConnection, entry_id: int, *,
                        enabled: bool | None = None,
                        labels: Sequence[str] | None = None,
                        quarantine: tuple[int, str] | bool | None = False) -> None:
        """``quarantine``: ``(at, reason)`` quarantines, None lifts it, False keeps it."""
        values: dict[str, Any] = {}
        if enabled is not None:
            values["enabled"] = enabled
        if quarantine is None:
            values.update(quarantined_at=None, quarantine_reason=None)
        elif isinstance(quarantine, tuple):
            values.update(quarantined_at=quarantine[0], quarantine_reason=quarantine[1])
        if labels is not None:
            values["labels"] = json.dumps(sorted(labels))
        if values:
            await conn.execute(bank_entries.update().where(bank_entries.c.id == entry_id)
                               .values(**values))

    async def quarantined_ids(self, conn: AsyncConnection) -> set[int]:
        rows = await conn.execute(sa.select(bank_entries.c.id).where(
            bank_entries.c.quarantined_at.is_not(None)))
        return {int(r[0]) for r in rows}

    async def list_entries(self, conn: AsyncConnection, bank: str | None, after_id: int,
                           limit: int, q: str = "",
                           enabled_only: bool = False) -> list[EntryRecord]:
        """Entries by id after ``after_id`` (a cursor); ``q`` filters value or source."""
        query = sa.select(*_ENTRY_COLS).where(bank_entries.c.id > after_id)
        if bank is not None:
            query = query.where(bank_entries.c.bank == bank)
        if enabled_only:
            query = query.where(bank_entries.c.enabled.is_(True))
        if q:
            pattern = f"%{_like_escape(q)}%"
            query = query.where(sa.or_(bank_entries.c.value.like(pattern, escape="\\"),
                                       bank_entries.c.source.like(pattern, escape="\\")))
        rows = await conn.execute(query.order_by(bank_entries.c.id).limit(limit))
        return [_entry(r) for r in rows]

    # --- exchanges -----------------------------------------------------------------
    async def put_exchange(self, conn: AsyncConnection, record: ExchangeRecord) -> None:
        """Create or reconfigure an exchange; reconfiguring keeps its checkpoint."""
        values = {"exchange_type": record.exchange_type, "bank": record.bank,
                  "credentials_ref": record.credentials_ref,
                  "config": json.dumps(record.config), "labels": json.dumps(record.labels)}
        updated = await conn.execute(bank_exchanges.update()
                                     .where(bank_exchanges.c.name == record.name)
                                     .values(**values))
        if not updated.rowcount:
            await conn.execute(bank_exchanges.insert().values(name=record.name, **values))

    async def exchange(self, conn: AsyncConnection, name: str) -> ExchangeRecord | None:
        row = (await conn.execute(sa.select(*_EXCHANGE_COLS)
                                  .where(bank_exchanges.c.name == name))).first()
        return _exchange(row) if row else None

    async def exchanges(self, conn: AsyncConnection, bank: str) -> list[ExchangeRecord]:
        rows = await conn.execute(sa.select(*_EXCHANGE_COLS)
                                  .where(bank_exchanges.c.bank == bank)
                                  .order_by(bank_exchanges.c.name))
        return [_exchange(r) for r in rows]

    async def all_exchanges(self, conn: AsyncConnection) -> list[ExchangeRecord]:
        rows = await conn.execute(sa.select(*_EXCHANGE_COLS).order_by(bank_exchanges.c.name))
        return [_exchange(r) for r in rows]

    async def due_exchanges(self, conn: AsyncConnection, now: int) -> list[ExchangeRecord]:
        """Scheduled exchanges whose next run is due."""
        rows = await conn.execute(
            sa.select(*_EXCHANGE_COLS).where(bank_exchanges.c.interval_s.is_not(None),
                                             bank_exchanges.c.next_run_at <= now)
            .order_by(bank_exchanges.c.next_run_at))
        return [_exchange(r) for r in rows]

    async def set_schedule(self, conn: AsyncConnection, name: str, interval_s: int | None,
                           next_run_at: int | None) -> None:
        await conn.execute(bank_exchanges.update().where(bank_exchanges.c.name == name)
                           .values(interval_s=interval_s, next_run_at=next_run_at))

    async def save_status(self, conn: AsyncConnection, name: str, status: dict[str, Any], *,
                          failures: int | None = None, next_run_at: int | None = None) -> None:
        """Store the status JSON; ``failures``/``next_run_at`` when given."""
        values: dict[str, Any] = {"status": json.dumps(status, sort_keys=True)}
        if failures is not None:
            values["failures"] = failures
        if next_run_at is not None:
            values["next_run_at"] = next_run_at
        await conn.execute(bank_exchanges.update().where(bank_exchanges.c.name == name)
                           .values(**values))

    async def save_checkpoint(self, conn: AsyncConnection, name: str, checkpoint: str | None,
                              now: int) -> None:
        await conn.execute(bank_exchanges.update().where(bank_exchanges.c.name == name)
                           .values(checkpoint=checkpoint, last_fetch_at=now))

"""Trust-and-safety gauges read from the database at scrape time.

Every process answers the same: the review queue, the legal clocks of removal orders,
the job queue and the exchanges are rows, not this process's memory. The queries are
aggregates over indexed columns, cheap enough to run on each scrape (15 s is usual).
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.moderation import orders as order_rules
from tidings.moderation import review as rv
from tidings.storage.order_schema import removal_orders
from tidings.storage.report_schema import review_cases
from tidings.storage.schema import bank_entries, bank_exchanges, bank_version, jobs

WAITING_STATES = (rv.State.OPEN, rv.State.CLAIMED, rv.State.ESCALATED, rv.State.APPEALED,
                  rv.State.APPEAL_CLAIMED)
"""Cases a moderator still has to finish (claimed ones included: a lease can lapse)."""

SOURCE_BY_RANK = {rank: str(source) for source, rank in rv.SOURCE_RANK.items()}


class OpsMetrics:
    """Registers the gauges on an app's registry; ``refresh`` reads them anew."""

    def __init__(self, registry: CollectorRegistry) -> None:
        def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
            return Gauge(name, doc, list(labels), registry=registry)

        self.queue_depth = gauge("tidings_review_queue_depth",
                                 "Review cases waiting or in review, by most urgent source",
                                 ("source",))
        self.queue_oldest = gauge("tidings_review_queue_oldest_age_seconds",
                                  "Age of the oldest waiting review case, by source",
                                  ("source",))
        self.orders_open = gauge("tidings_removal_orders_open",
                                 "Removal orders received and not yet answered")
        self.orders_overdue = gauge("tidings_removal_orders_overdue",
                                    "Open removal orders past their one-hour deadline")
        self.order_deadline = gauge(
            "tidings_removal_order_next_deadline_seconds",
            "Seconds until the nearest open order's deadline (negative: overdue); "
            "absent when no order is open")
        self.order_oldest_open = gauge("tidings_removal_order_oldest_open_age_seconds",
                                       "Age of the oldest open removal order")
        self.jobs = gauge("tidings_jobs", "Background jobs by kind and state",
                          ("kind", "state"))
        self.bank_entries = gauge("tidings_bank_entries",
                                  "Enabled bank entries by bank and signal type",
                                  ("bank", "signal_type"))
        self.matcher_entries = gauge("tidings_matcher_entries",
                                     "Entries in this process's in-memory match index")
        self.matcher_lag = gauge("tidings_matcher_version_lag",
                                 "Bank changes in the database not yet in this process's index")
        self.snapshot_age = gauge("tidings_matcher_snapshot_age_seconds",
                                  "Age of the matcher snapshot on disk")
        self.exchange_age = gauge("tidings_exchange_last_fetch_age_seconds",
                                  "Seconds since each exchange last fetched", ("exchange",))

    async def refresh(self, conn: AsyncConnection, now_ms: int, *, matcher_entries: int,
                      matcher_version: int, snapshot: Path | None) -> None:
        await self._queue(conn, now_ms)
        await self._orders(conn, now_ms)
        await self._jobs(conn)
        await self._banks(conn, now_ms, matcher_entries, matcher_version, snapshot)

    async def _queue(self, conn: AsyncConnection, now_ms: int) -> None:
        rows = (await conn.execute(
            sa.select(review_cases.c.rank, sa.func.count(), sa.func.min(review_cases.c.created_at))
            .where(review_cases.c.state.in_([str(s) for s in WAITING_STATES]))
            .group_by(review_cases.c.rank))).all()
        seen = {int(rank): (int(n), int(oldest)) for rank, n, oldest in rows}
        for rank, source in SOURCE_BY_RANK.items():
            n, oldest = seen.get(rank, (0, now_ms))
            self.queue_depth.labels(source).set(n)
            self.queue_oldest.labels(source).set(max(0, now_ms - oldest) / 1000)

    async def _orders(self, conn: AsyncConnection, now_ms: int) -> None:
        rows = (await conn.execute(
            sa.select(removal_orders.c.received_ms)
            .where(removal_orders.c.status == str(order_rules.Status.OPEN)))).scalars().all()
        deadlines = sorted(order_rules.deadline_ms(int(r)) for r in rows)
        self.orders_open.set(len(deadlines))
        self.orders_overdue.set(sum(1 for d in deadlines if now_ms > d))
        if deadlines:
            self.order_deadline.set((deadlines[0] - now_ms) / 1000)
            self.order_oldest_open.set((now_ms - min(int(r) for r in rows)) / 1000)
        else:  # no clock is running: say so rather than report a stale one
            self.order_deadline.set(float("nan"))
            self.order_oldest_open.set(0)

    async def _jobs(self, conn: AsyncConnection) -> None:
        rows = (await conn.execute(
            sa.select(jobs.c.kind, jobs.c.state, sa.func.count())
            .group_by(jobs.c.kind, jobs.c.state))).all()
        self.jobs.clear()
        for kind, state, n in rows:
            self.jobs.labels(kind, state).set(n)

    async def _banks(self, conn: AsyncConnection, now_ms: int, matcher_entries: int,
                     matcher_version: int, snapshot: Path | None) -> None:
        rows = (await conn.execute(
            sa.select(bank_entries.c.bank, bank_entries.c.signal_type, sa.func.count())
            .where(bank_entries.c.enabled.is_(True))
            .group_by(bank_entries.c.bank, bank_entries.c.signal_type))).all()
        self.bank_entries.clear()
        for bank, signal_type, n in rows:
            self.bank_entries.labels(bank, signal_type).set(n)
        self.matcher_entries.set(matcher_entries)
        version = (await conn.execute(sa.select(sa.func.max(bank_version.c.version)))).scalar()
        self.matcher_lag.set(max(0, int(version or 0) - matcher_version))
        if snapshot is not None and snapshot.exists():
            self.snapshot_age.set(max(0.0, now_ms / 1000 - snapshot.stat().st_mtime))
        self.exchange_age.clear()
        for name, last in (await conn.execute(
                sa.select(bank_exchanges.c.name, bank_exchanges.c.last_fetch_at))).all():
            if last is not None:
                self.exchange_age.labels(name).set(max(0, now_ms - int(last)) / 1000)



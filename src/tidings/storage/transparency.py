"""Read-only SQL for statements-of-reasons exports and transparency reports.

Everything here reads what other areas wrote (moderation actions and their audit
records, statements of reasons, review cases, reports, bank entries); nothing writes.
Periods are half-open ``[since_ms, until_ms)`` in milliseconds.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.storage.action_schema import audit_log, moderation_actions, statements_of_reasons
from tidings.storage.order_schema import removal_orders
from tidings.storage.report_schema import reports, review_cases
from tidings.storage.schema import bank_entries

#: Rows read per round trip when an export pages through a table.
PAGE: Final = 500


@dataclass(frozen=True, slots=True)
class StatementRow:
    id: int
    target: str
    created_at: int
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ActionRow:
    key: str
    kind: str
    rule: str
    target: str
    cause: str
    actor: str
    created_at: int


@dataclass(frozen=True, slots=True)
class AuditRow:
    actor: str
    action: str
    target: str
    time_ms: int
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class EntryRow:
    id: int
    bank: str
    labels: tuple[str, ...]
    source: str


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What a report needs of a review case: its pure record and stored columns."""

    id: str
    target_kind: str
    target_ref: str
    record: str
    policy: str | None
    statement: str | None
    matches: str | None
    created_at: int


@dataclass(frozen=True, slots=True)
class ReportFacts:
    created_at: int
    source: str
    case_record: str | None


@dataclass(frozen=True, slots=True)
class OrderRow:
    """A removal order (TCO Art. 3) as the transparency report needs it; the column
    names are the shared contract of ``order_schema.removal_orders``."""

    id: str
    target_kind: str
    target_ref: str
    label: str
    status: str
    received_ms: int
    completed_ms: int | None
    cannot_comply_reason: str | None
    case_id: str | None


_CASE_COLUMNS = (review_cases.c.id, review_cases.c.target_kind, review_cases.c.target_ref,
                 review_cases.c.record, review_cases.c.policy, review_cases.c.statement,
                 review_cases.c.matches, review_cases.c.created_at)


class TransparencyStore:
    async def statements(self, conn: AsyncConnection, since_ms: int, until_ms: int,
                         after_id: int = 0, limit: int = PAGE) -> list[StatementRow]:
        """Automated statements (``statements_of_reasons``) written in the period."""
        t = statements_of_reasons
        rows = await conn.execute(
            sa.select(t.c.id, t.c.target, t.c.created_at, t.c.body)
            .where(t.c.created_at >= since_ms, t.c.created_at < until_ms, t.c.id > after_id)
            .order_by(t.c.id).limit(limit))
        return [StatementRow(int(r[0]), str(r[1]), int(r[2]), json.loads(r[3])) for r in rows]

    async def cases_touched(self, conn: AsyncConnection, since_ms: int, until_ms: int,
                            after_id: str = "", limit: int = PAGE) -> list[CaseFacts]:
        """Cases that may have been decided or appealed in the period: opened before its
        end and changed after its start (every decision and appeal updates the row)."""
        t = review_cases
        rows = await conn.execute(
            sa.select(*_CASE_COLUMNS)
            .where(t.c.created_at < until_ms, t.c.updated_at >= since_ms, t.c.id > after_id)
            .order_by(t.c.id).limit(limit))
        return [CaseFacts(*r) for r in rows]

    async def actions(self, conn: AsyncConnection, since_ms: int, until_ms: int
                      ) -> list[ActionRow]:
        t = moderation_actions
        rows = await conn.execute(
            sa.select(t.c.idempotency_key, t.c.kind, t.c.rule, t.c.target, t.c.cause,
                      t.c.actor, t.c.created_at)
            .where(t.c.created_at >= since_ms, t.c.created_at < until_ms).order_by(t.c.id))
        return [ActionRow(*r) for r in rows]

    async def audit(self, conn: AsyncConnection, since_ms: int, until_ms: int,
                    actions: Sequence[str]) -> list[AuditRow]:
        """Audit records of the given actions in the period (their details carry the
        bank entries behind automated actions and the labels of removals)."""
        t = audit_log
        rows = await conn.execute(
            sa.select(t.c.actor, t.c.action, t.c.target, t.c.time_ms, t.c.details)
            .where(t.c.time_ms >= since_ms, t.c.time_ms < until_ms,
                   t.c.action.in_(list(actions))).order_by(t.c.id))
        return [AuditRow(r[0], r[1], r[2], int(r[3]), json.loads(r[4])) for r in rows]

    async def entries(self, conn: AsyncConnection, ids: Sequence[int]) -> dict[int, EntryRow]:
        out: dict[int, EntryRow] = {}
        wanted = sorted(set(ids))
        for start in range(0, len(wanted), PAGE):
            chunk = wanted[start:start + PAGE]
            rows = await conn.execute(
                sa.select(bank_entries.c.id, bank_entries.c.bank, bank_entries.c.labels,
                          bank_entries.c.source).where(bank_entries.c.id.in_(chunk)))
            for r in rows:
                out[int(r[0])] = EntryRow(int(r[0]), str(r[1]), tuple(json.loads(r[2])),
                                          str(r[3]))
        return out

    async def reports(self, conn: AsyncConnection, since_ms: int, until_ms: int
                      ) -> list[ReportFacts]:
        """Notices received in the period, each with its case's record (for the outcome)."""
        rows = await conn.execute(
            sa.select(reports.c.created_at, reports.c.source, review_cases.c.record)
            .select_from(reports.outerjoin(review_cases, review_cases.c.id == reports.c.case_id))
            .where(reports.c.created_at >= since_ms, reports.c.created_at < until_ms)
            .order_by(reports.c.id))
        return [ReportFacts(int(r[0]), str(r[1]), r[2]) for r in rows]

    async def orders(self, conn: AsyncConnection, since_ms: int, until_ms: int
                     ) -> list[OrderRow]:
        """Removal orders received in the period, or completed in it (a measure)."""
        t = removal_orders
        received = sa.and_(t.c.received_ms >= since_ms, t.c.received_ms < until_ms)
        completed = sa.and_(t.c.completed_ms >= since_ms, t.c.completed_ms < until_ms)
        rows = await conn.execute(
            sa.select(t.c.id, t.c.target_kind, t.c.target_ref, t.c.label, t.c.status,
                      t.c.received_ms, t.c.completed_ms, t.c.cannot_comply_reason,
                      t.c.case_id)
            .where(sa.or_(received, completed)).order_by(t.c.received_ms, t.c.id))
        return [OrderRow(*r) for r in rows]

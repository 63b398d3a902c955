"""SQL for reports, review cases, notices, trusted flaggers and moderator preferences."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.storage.report_schema import (
    moderator_prefs,
    notices,
    reported_messages,
    reports,
    review_cases,
    trusted_flaggers,
)
from tidings.storage.schema import users


@dataclass(frozen=True, slots=True)
class CaseRow:
    id: str
    target_kind: str
    target_ref: str
    affected_user_id: int | None
    state: str
    rank: int
    record: str
    policy: str | None
    statement: str | None
    snapshot: str | None
    matches: str | None
    appeal_text: str | None
    appeal_answer: str | None
    created_at: int
    updated_at: int


@dataclass(frozen=True, slots=True)
class ReportRow:
    id: int
    case_id: str
    reporter_id: int | None
    target_kind: str
    target_ref: str
    category: str
    explanation: str
    location: str
    notifier_name: str | None
    notifier_email: str | None
    source: str
    verified: bool
    status: str
    outcome: str | None
    created_at: int
    updated_at: int


@dataclass(frozen=True, slots=True)
class MessageRow:
    report_id: int
    position: int
    message_id: str
    sender: str
    sender_device: str
    conversation: str
    ts: int
    payload: str
    key_id: str
    verdict: str


@dataclass(frozen=True, slots=True)
class NoticeRow:
    id: int
    user_id: int
    kind: str
    case_id: str | None
    body: str
    created_at: int


def _cols(table: sa.Table, cls: type) -> list[sa.Column[Any]]:
    return [table.c[f.name] for f in fields(cls)]


_CASE = _cols(review_cases, CaseRow)
_REPORT = _cols(reports, ReportRow)
_MESSAGE = _cols(reported_messages, MessageRow)
_NOTICE = _cols(notices, NoticeRow)
#: States a new report or hold joins instead of opening a new case.
JOINABLE = ("open", "claimed", "escalated")


class ReportStore:
    async def payloads_of_undecided_cases(self, conn: AsyncConnection) -> list[str]:
        """Payloads of reported messages whose case is not decided for good (open,
        claimed, escalated or under appeal): what a disclosed attachment is kept for."""
        done = ("decided", "appeal_decided", "closed")
        rows = await conn.execute(
            sa.select(reported_messages.c.payload)
            .join(reports, reports.c.id == reported_messages.c.report_id)
            .join(review_cases, review_cases.c.id == reports.c.case_id)
            .where(review_cases.c.state.not_in(done)))
        return [str(r[0]) for r in rows]

    # -- cases --------------------------------------------------------------------
    async def insert_case(self, conn: AsyncConnection, **values: Any) -> None:
        await conn.execute(review_cases.insert().values(**values))

    async def update_case(self, conn: AsyncConnection, case_id: str,
                          expect_record: str | None = None, **values: Any) -> bool:
        """Update a case; with ``expect_record``, only if nobody changed it since it was
        read (compare-and-set), so two moderators never both win a claim or decision."""
        query = review_cases.update().where(review_cases.c.id == case_id)
        if expect_record is not None:
            query = query.where(review_cases.c.record == expect_record)
        result = await conn.execute(query.values(**values))
        return bool(result.rowcount)

    async def case(self, conn: AsyncConnection, case_id: str) -> CaseRow | None:
        row = (await conn.execute(sa.select(*_CASE).where(review_cases.c.id == case_id))).first()
        return CaseRow(*row) if row else None

    async def joinable_case(self, conn: AsyncConnection, kind: str, ref: str) -> CaseRow | None:
        row = (await conn.execute(
            sa.select(*_CASE).where(review_cases.c.target_kind == kind,
                                    review_cases.c.target_ref == ref,
                                    review_cases.c.state.in_(JOINABLE))
            .order_by(review_cases.c.created_at).limit(1))).first()
        return CaseRow(*row) if row else None

    async def cases(self, conn: AsyncConnection, states: Sequence[str], limit: int,
                    kind: str | None = None) -> list[CaseRow]:
        query = sa.select(*_CASE).where(review_cases.c.state.in_(list(states)))
        if kind:
            query = query.where(review_cases.c.target_kind == kind)
        query = query.order_by(review_cases.c.rank, review_cases.c.created_at,
                               review_cases.c.id).limit(limit)
        return [CaseRow(*r) for r in (await conn.execute(query)).all()]

    async def cases_about(self, conn: AsyncConnection, user_id: int, limit: int
                          ) -> list[CaseRow]:
        rows = await conn.execute(sa.select(*_CASE).where(
            review_cases.c.affected_user_id == user_id)
            .order_by(review_cases.c.created_at.desc()).limit(limit))
        return [CaseRow(*r) for r in rows.all()]

    # -- reports ------------------------------------------------------------------
    async def insert_report(self, conn: AsyncConnection, **values: Any) -> int:
        result = await conn.execute(reports.insert().values(**values).returning(reports.c.id))
        return int(result.scalar_one())

    async def report(self, conn: AsyncConnection, report_id: int) -> ReportRow | None:
        row = (await conn.execute(sa.select(*_REPORT).where(reports.c.id == report_id))).first()
        return ReportRow(*row) if row else None

    async def reports_of_case(self, conn: AsyncConnection, case_id: str) -> list[ReportRow]:
        rows = await conn.execute(sa.select(*_REPORT).where(reports.c.case_id == case_id)
                                  .order_by(reports.c.id))
        return [ReportRow(*r) for r in rows.all()]

    async def set_outcome(self, conn: AsyncConnection, case_id: str, status: str,
                          outcome: str, now: int) -> None:
        await conn.execute(reports.update().where(reports.c.case_id == case_id)
                           .values(status=status, outcome=outcome, updated_at=now))

    async def insert_messages(self, conn: AsyncConnection, report_id: int,
                              rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await conn.execute(reported_messages.insert(),
                               [{**r, "report_id": report_id} for r in rows])

    async def messages(self, conn: AsyncConnection, report_ids: Sequence[int]
                       ) -> list[MessageRow]:
        rows = await conn.execute(sa.select(*_MESSAGE)
                                  .where(reported_messages.c.report_id.in_(list(report_ids)))
                                  .order_by(reported_messages.c.report_id,
                                            reported_messages.c.position))
        return [MessageRow(*r) for r in rows.all()]

    # -- notices ------------------------------------------------------------------
    async def insert_notice(self, conn: AsyncConnection, **values: Any) -> int:
        result = await conn.execute(notices.insert().values(**values).returning(notices.c.id))
        return int(result.scalar_one())

    async def notices(self, conn: AsyncConnection, user_id: int, limit: int) -> list[NoticeRow]:
        rows = await conn.execute(sa.select(*_NOTICE).where(notices.c.user_id == user_id)
                                  .order_by(notices.c.id.desc()).limit(limit))
        return [NoticeRow(*r) for r in rows.all()]

    # -- trusted flaggers and preferences -------------------------------------------
    async def set_trusted(self, conn: AsyncConnection, user_id: int, trusted: bool,
                          now: int) -> None:
        await conn.execute(trusted_flaggers.delete().where(trusted_flaggers.c.user_id == user_id))
        if trusted:
            await conn.execute(trusted_flaggers.insert().values(user_id=user_id, created_at=now))

    async def trusted(self, conn: AsyncConnection, limit: int) -> list[tuple[str, int]]:
        """(username, since) of the trusted flaggers, the longest-standing first."""
        rows = await conn.execute(
            sa.select(users.c.username, trusted_flaggers.c.created_at)
            .join(users, users.c.id == trusted_flaggers.c.user_id)
            .order_by(trusted_flaggers.c.created_at, users.c.username).limit(limit))
        return [(str(r[0]), int(r[1])) for r in rows]

    async def is_trusted(self, conn: AsyncConnection, user_id: int) -> bool:
        row = (await conn.execute(sa.select(trusted_flaggers.c.user_id)
                                  .where(trusted_flaggers.c.user_id == user_id))).first()
        return row is not None

    async def reveal_media(self, conn: AsyncConnection, user_id: int) -> bool:
        row = (await conn.execute(sa.select(moderator_prefs.c.reveal_media)
                                  .where(moderator_prefs.c.user_id == user_id))).first()
        return bool(row[0]) if row else False

    async def set_reveal_media(self, conn: AsyncConnection, user_id: int, reveal: bool) -> None:
        await conn.execute(moderator_prefs.delete().where(moderator_prefs.c.user_id == user_id))
        await conn.execute(moderator_prefs.insert().values(user_id=user_id, reveal_media=reveal))

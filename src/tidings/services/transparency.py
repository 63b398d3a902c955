"""Statements-of-reasons export and transparency reports (DSA Arts. 15, 17, 24; TCO Art. 7).

``sor_lines`` pages through every statement written in a period — the rules'
automated ones (``statements_of_reasons``) and moderators' decisions (review cases)
— and yields one validated Transparency Database payload per line (DSA Art. 24(5)).
``report`` loads the period's measures, notices, appeals and orders and hands them
to the pure aggregation (``moderation/transparency.py``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from tidings.moderation import review as rv
from tidings.moderation.reasons import (
    EEA,
    GROUNDS,
    OTHER_POLICY,
    Automation,
    ContentKind,
    DetectionSource,
    Redress,
    Restriction,
    StatementOfReasons,
    from_decision,
    from_record,
)
from tidings.moderation.sor_export import SorExportError, to_transparency_db, validate
from tidings.moderation.transparency import ReturningRecord, TransparencyReport, aggregate
from tidings.protocol import limits
from tidings.protocol.errors import BadRequest
from tidings.services.cases import case_from_json
from tidings.services.clock import Clock
from tidings.services.takedowns import REMOVE_POST
from tidings.services.transparency_records import (
    action_records,
    case_records,
    notice_records,
    order_records,
    order_target,
)
from tidings.storage.database import Database
from tidings.storage.returning import BANNED, ReturningStore
from tidings.storage.transparency import CaseFacts, StatementRow, TransparencyStore

MS_PER_DAY: Final = 86_400_000
#: Rendered public reports are reused this long (the public page is unauthenticated).
CACHE_MS: Final = 60_000
CACHE_MAX: Final = 64
_FACTS_PREFIX: Final = "What we relied on: "


def day_ms(day: str) -> int:
    """Midnight UTC of a ``YYYY-MM-DD`` day, in ms (ValueError if not a date)."""
    parsed = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def period(first_day: str, last_day: str | None, today_ms: int) -> tuple[int, int]:
    """``[first_day 00:00, last_day + 1 day 00:00)`` in ms; the last day defaults to
    today. 400 ``invalid_period`` for a malformed, reversed or too long period."""
    try:
        since = day_ms(first_day)
        until = (day_ms(last_day) if last_day else day_ms(day_of(today_ms))) + MS_PER_DAY
    except ValueError as exc:
        raise BadRequest("dates are YYYY-MM-DD", "invalid_period") from exc
    if until <= since:
        raise BadRequest("the period ends before it starts", "invalid_period")
    if until - since > limits.TRANSPARENCY_PERIOD_MAX_DAYS * MS_PER_DAY:
        raise BadRequest(f"a period spans at most {limits.TRANSPARENCY_PERIOD_MAX_DAYS} days",
                         "invalid_period")
    return since, until


def day_of(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def _facts(text: str) -> str:
    line = next((x for x in text.splitlines() if x.startswith(_FACTS_PREFIX)), "")
    return line[len(_FACTS_PREFIX):] or "Automated decision under the rules in force."


def _ground_of_reference(reference: str) -> str:
    return next((label for label, g in GROUNDS.items() if g.reference == reference),
                OTHER_POLICY)


def legacy_automated(row: StatementRow) -> StatementOfReasons:
    """A statement stored before the structured record existed: every field it had,
    the rest as ``from_outcome`` always sets them (fully automated, own initiative)."""
    body = row.body
    restrictions = tuple(Restriction(r) for r in body.get("restrictions", ["content_removed"]))
    return StatementOfReasons(
        str(body["statement_id"]), restrictions, EEA, row.created_at, None,
        _facts(str(body.get("text", ""))), (ContentKind.TEXT,), row.created_at, True,
        Automation.FULLY, GROUNDS[_ground_of_reference(str(body.get("ground", "")))],
        DetectionSource.VOLUNTARY, Redress(rv.add_months(row.created_at,
                                                         rv.APPEAL_WINDOW_MONTHS)))


def automated_statement(row: StatementRow) -> StatementOfReasons:
    record = row.body.get("record")
    return from_record(record) if isinstance(record, dict) else legacy_automated(row)


def decision_statement(case: CaseFacts) -> StatementOfReasons | None:
    """The statement of a moderator's decision on ``case`` (None when it restricted
    nothing)."""
    if not case.statement:
        return None
    stored: dict[str, Any] = json.loads(case.statement)
    record = stored.get("record")
    if isinstance(record, dict):
        return from_record(record)
    decided = case_from_json(case.record)
    if decided.decision is None or decided.decided_at_ms is None:
        return None
    return from_decision(decided, str(stored.get("id") or f"sor-{case.id}"),
                         case.policy or OTHER_POLICY, [ContentKind.TEXT], case.created_at,
                         _facts(str(stored.get("text", ""))))


def payload_line(sor: StatementOfReasons, terms_url: str | None) -> str:
    payload = to_transparency_db(sor, terms_url)
    issues = validate(payload)
    if issues:
        raise SorExportError(issues)
    return json.dumps(payload, sort_keys=True, ensure_ascii=False) + "\n"


class TransparencyService:
    def __init__(self, db: Database, clock: Clock, store: TransparencyStore,
                 returning: ReturningStore, terms_url: str | None = None) -> None:
        self.db = db
        self.clock = clock
        self.terms_url = terms_url
        self.store = store
        self.returning = returning
        self._cache: dict[tuple[int, int], tuple[int, TransparencyReport]] = {}

    # -- statements of reasons (DSA Art. 24(5)) ---------------------------------------
    async def sor_lines(self, since_ms: int, until_ms: int) -> AsyncIterator[str]:
        """JSON lines: automated statements first, then moderators' decisions, each in
        the order they were stored; decisions by ``application_date`` in the period."""
        after = 0
        while True:
            async with self.db.read() as conn:
                rows = await self.store.statements(conn, since_ms, until_ms, after)
            if not rows:
                break
            for row in rows:
                yield payload_line(automated_statement(row), self.terms_url)
            after = rows[-1].id
        after_case = ""
        while True:
            async with self.db.read() as conn:
                cases = await self.store.cases_touched(conn, since_ms, until_ms, after_case)
            if not cases:
                break
            for case in cases:
                sor = decision_statement(case)
                if sor is not None and since_ms <= sor.starts_ms < until_ms:
                    yield payload_line(sor, self.terms_url)
            after_case = cases[-1].id

    # -- transparency reports (DSA Arts. 15, 24; TCO Art. 7) -------------------------
    async def report(self, since_ms: int, until_ms: int) -> TransparencyReport:
        async with self.db.read() as conn:
            rows = await self.store.actions(conn, since_ms, until_ms)
            audit = await self.store.audit(conn, since_ms, until_ms,
                                           sorted({r.kind for r in rows} | {REMOVE_POST}))
            ids = [i for a in audit for i in a.details.get("entry_ids", [])
                   if isinstance(i, int)]
            entries = await self.store.entries(conn, ids)
            notices = notice_records(await self.store.reports(conn, since_ms, until_ms))
            cases: list[CaseFacts] = []
            after = ""
            while page := await self.store.cases_touched(conn, since_ms, until_ms, after):
                cases += page
                after = page[-1].id
            order_rows = await self.store.orders(conn, since_ms, until_ms)
            holds = await self.returning.holds_between(conn, since_ms, until_ms)
        orders, order_actions = order_records(order_rows)
        targets = frozenset(order_target(r) for r in order_rows if r.completed_ms is not None)
        actions = action_records(rows, audit, entries, targets)
        decided, appeals = case_records(
            cases, frozenset(r.case_id for r in order_rows if r.case_id))
        returning = [ReturningRecord(h.created_at, h.decided_at, h.state == BANNED,
                                     h.banned_label, h.decision_label) for h in holds]
        return aggregate(since_ms, until_ms, actions + decided + order_actions, notices,
                         appeals, orders, returning)

    async def cached_report(self, since_ms: int, until_ms: int) -> TransparencyReport:
        """``report`` reused for ``CACHE_MS``: the public page must not be a cheap way
        to make the server aggregate over and over."""
        now = self.clock()
        hit = self._cache.get((since_ms, until_ms))
        if hit is not None and now - hit[0] < CACHE_MS:
            return hit[1]
        report = await self.report(since_ms, until_ms)
        if len(self._cache) >= CACHE_MAX:
            self._cache.pop(min(self._cache, key=lambda k: self._cache[k][0]))
        self._cache[(since_ms, until_ms)] = (now, report)
        return report


def daily_series(counts: Mapping[str, int], since_ms: int, until_ms: int) -> list[
        dict[str, Any]]:
    """Every day of the period with its count (zero days included, as published daily)."""
    out = []
    day = datetime.fromtimestamp(since_ms / 1000, UTC).date()
    last = datetime.fromtimestamp((until_ms - 1) / 1000, UTC).date()
    while day <= last:
        key = day.isoformat()
        out.append({"date": key, "channels_banned": int(counts.get(key, 0))})
        day += timedelta(days=1)
    return out

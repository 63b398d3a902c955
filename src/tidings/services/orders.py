"""Removal orders (TCO Regulation (EU) 2021/784, Art. 3), end to end.

``submit`` is one request from a competent authority: the order is validated (bad
input is a 4xx and nothing is stored), recorded with its time of receipt, the target
is disabled at once (``OrderTargets``), the completion time and the Annex II
confirmation are stored, the content is preserved (Art. 6), a decided review case
is opened so the content provider can complain (Art. 10), and the provider is told
why (Art. 11) — now, or by a durable job when the authority's withholding ends.
If disabling fails the order stays open: the console shows it with the one-hour
countdown, and staff execute it or answer that they cannot comply (Annex III).
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any, Final

from sqlalchemy.exc import SQLAlchemyError

from tidings.moderation import orders as mo
from tidings.moderation import review as rv
from tidings.moderation.audit import AuditRecord
from tidings.moderation.labels import TERRORIST_CONTENT
from tidings.moderation.reasons import Ground, from_order, order_ground, render_text, to_record
from tidings.protocol import limits
from tidings.protocol.errors import BadRequest, Conflict, NotFound, TidingsError, Unprocessable
from tidings.services.accounts import Principal
from tidings.services.authorities import AuthorityService
from tidings.services.cases import case_columns, new_case_id
from tidings.services.clock import Clock
from tidings.services.jobs import JobContext, JobService
from tidings.services.notices import NoticeService
from tidings.services.order_targets import (
    DECISION_OF_KIND,
    ORDER_ACTION,
    OrderTargets,
    Target,
    order_rule,
    valid_label,
)
from tidings.services.preservation import PreservationService
from tidings.storage.actions import ActionStore
from tidings.storage.database import Database
from tidings.storage.orders import OrderRow, OrderStore
from tidings.storage.reports import ReportStore

log = logging.getLogger(__name__)

NOTICE_JOB: Final = "order_notice"
NOTICE_KIND: Final = "removal_order"
RATE_ALERT: Final = "removal_order_rate_alert"
DEFAULT_CONFIRM_PER_HOUR: Final = 30
STAFF_READ: Final = frozenset({"admin", "moderator", "auditor"})


def new_order_id() -> str:
    return "ro_" + secrets.token_urlsafe(12)


def _text(value: Any, field: str, maximum: int) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > maximum:
        raise BadRequest(f"{field} needs 1..{maximum} characters", f"invalid_{field}")
    return text


def _order_error(exc: mo.OrderError) -> TidingsError:
    return Unprocessable(str(exc), exc.code)


class OrderService:
    def __init__(self, db: Database, store: OrderStore, authorities: AuthorityService,
                 targets: OrderTargets, preservation: PreservationService,
                 notices: NoticeService, cases: ReportStore, jobs: JobService, clock: Clock,
                 provider: str, contact_point: str, public_url: str,
                 confirm_per_hour: int = DEFAULT_CONFIRM_PER_HOUR, *, audit: ActionStore
                 ) -> None:
        self.db = db
        self.store = store
        self.authorities = authorities
        self.targets = targets
        self.preservation = preservation
        self.notices = notices
        self.cases = cases
        self.jobs = jobs
        self.clock = clock
        self.provider = provider
        self.contact_point = contact_point
        self.public_url = public_url
        self.confirm_per_hour = confirm_per_hour
        self.audit = audit

    # -- receiving an order ---------------------------------------------------------------
    async def submit(self, who: Principal, *, target: str, legal_basis: str, reasons: str,
                     reference: str, label: str | None = None,
                     withhold_days: int | None = None, basis: str | None = None,
                     category: str | None = None,
                     territorial_scope: list[str] | None = None) -> dict[str, Any]:
        """Receive an order. Its legal scope is checked first (``mo.order_scope``: a TCO
        order only for terrorist content, a DSA Art. 9 order with its own basis and
        category; 422 and nothing stored otherwise). Past ``confirm_per_hour`` orders of
        one authority in an hour it still executes at once, but waits for an admin's
        confirmation and alerts the admins."""
        authority = await self.authorities.of(who)
        reference = _text(reference, "reference", limits.ORDER_REFERENCE_MAX)
        legal_basis = _text(legal_basis, "legal_basis", limits.ORDER_TEXT_MAX)
        reasons = _text(reasons, "reasons", limits.ORDER_TEXT_MAX)
        if not isinstance(target, str) or len(target) > limits.ORDER_TARGET_MAX:
            raise BadRequest("target is a URL or kind:id", "invalid_target")
        now = self.clock()
        try:
            scope = mo.order_scope(basis, legal_basis,
                                   valid_label(label) if label is not None else None,
                                   category, territorial_scope, authority.member_state)
            spec = mo.parse_target(target, self.public_url)
            withhold = mo.withhold_until(now, withhold_days)
        except mo.OrderError as exc:
            raise _order_error(exc) from exc
        found = await self.targets.resolve(spec)
        actor = f"authority:{who.username}"
        async with self.db.write() as conn:
            recent = await self.store.recent(conn, who.user_id, now - mo.ORDER_DEADLINE_MS)
            confirm = mo.rate_exceeded(recent, self.confirm_per_hour)
            row = OrderRow(
                new_order_id(), who.user_id, authority.authority_name, authority.member_state,
                reference, found.kind.value, found.ref, spec.url, legal_basis, reasons,
                scope.label, withhold, mo.Status.OPEN.value, now, None, None, None, None, None,
                found.affected_user_id, 0, None, None, scope.basis.value, scope.category,
                json.dumps(list(scope.territorial_scope)), confirm)
            await self.store.insert(conn, row)
            await self.audit.audit(conn, AuditRecord(
                actor, ORDER_ACTION, order_rule(row.id), f"{row.target_kind}:{row.target_ref}",
                now, {"reference": reference, "authority": row.authority_name,
                      "member_state": row.member_state, "label": scope.label,
                      "basis": scope.basis.value, "category": scope.category,
                      "withhold_until_ms": withhold}))
            if confirm:
                await self.audit.audit(conn, AuditRecord(
                    "system", RATE_ALERT, order_rule(row.id),
                    f"{row.target_kind}:{row.target_ref}", now,
                    {"authority": row.authority_name, "orders_last_hour": recent + 1,
                     "limit_per_hour": self.confirm_per_hour}))
        out = await self._execute(row, found, actor)
        if confirm:
            await self._alert(row, recent + 1)
            out = await self._view_by_id(row.id)
        return out

    async def _alert(self, row: OrderRow, count: int) -> None:
        """Tell the operator: a warning in the log (for log-based alerting) and a notice
        in every admin's inbox, naming the order to confirm."""
        log.warning("removal orders: %s sent %d orders in the last hour (limit %d); order %s "
                    "executed and awaits an admin's confirmation", row.authority_name, count,
                    self.confirm_per_hour, row.id)
        async with self.db.read() as conn:
            admins = await self.store.admin_ids(conn)
        for admin in admins:
            await self.notices.deliver(admin, RATE_ALERT, None, {
                "order_id": row.id, "authority": row.authority_name,
                "orders_last_hour": count, "limit_per_hour": self.confirm_per_hour,
                "text": f"{row.authority_name} sent {count} orders in the last hour (more "
                        f"than {self.confirm_per_hour}). Order {row.id} was executed; "
                        "confirm it: tidings order confirm " + row.id})

    async def confirm(self, who: Principal, order_id: str) -> dict[str, Any]:
        """An admin confirms an order that arrived above the hourly rate."""
        row = await self._row(order_id)
        if not row.needs_confirmation:
            raise Conflict("this order needs no confirmation", "confirmation_not_needed")
        now = self.clock()
        async with self.db.write() as conn:
            if not await self.store.confirm(conn, row.id, now, who.username):
                raise Conflict("the order was confirmed already", "order_confirmed")
            await self.audit.audit(conn, AuditRecord(
                f"admin:{who.username}", "removal_order_confirmed", order_rule(row.id),
                f"{row.target_kind}:{row.target_ref}", now, {"reference": row.reference}))
        return await self._view_by_id(row.id)

    async def _execute(self, row: OrderRow, found: Target, actor: str,
                       allow_staff: bool = False) -> dict[str, Any]:
        """Disable the target and do everything that follows; on failure the order stays
        open (and says why in ``execution_error``)."""
        try:
            snapshot = await self.targets.disable(row, actor, allow_staff=allow_staff)
        except TidingsError as exc:
            async with self.db.write() as conn:
                await self.audit.audit(conn, AuditRecord(
                    actor, "removal_order_failed", order_rule(row.id),
                    f"{row.target_kind}:{row.target_ref}", self.clock(),
                    {"code": exc.code, "message": exc.message}))
            view = self.view(row)
            view["execution_error"] = {"code": exc.code, "message": exc.message}
            return view
        done = self.clock()
        case_id = new_case_id()
        completed = {**row.columns(), "status": mo.Status.COMPLETED.value,
                     "completed_ms": done, "answered_ms": done, "case_id": case_id}
        confirmation = mo.confirmation(completed, self.provider, self.contact_point)
        if row.basis == mo.LegalBasis.DSA_ART9:  # DSA Art. 9(1): the effect given to it
            confirmation.update(form="Regulation (EU) 2022/2065, Art. 9(1)",
                                territorial_scope=list(territory_of(row)),
                                category=row.category)
        statement = self._statement(row, found, case_id, done)
        case = rv.Case(case_id, rv.State.DECIDED, done, frozenset({rv.Source.LEGAL_ORDER}),
                       terrorist_content=row.label == TERRORIST_CONTENT,
                       decision=DECISION_OF_KIND[found.kind], decided_by=actor,
                       decided_at_ms=done)
        async with self.db.write() as conn:
            if not await self.store.update(
                    conn, row.id, expect_status=mo.Status.OPEN.value,
                    status=mo.Status.COMPLETED.value, completed_ms=done, answered_ms=done,
                    case_id=case_id, confirmation=json.dumps(confirmation)):
                raise Conflict("the order was answered meanwhile", "order_answered")
            await self.cases.insert_case(
                conn, id=case_id, target_kind=row.target_kind, target_ref=row.target_ref,
                affected_user_id=row.affected_user_id, created_at=done, policy=row.label,
                statement=json.dumps(statement), snapshot=json.dumps(snapshot),
                **case_columns(case, done))
        await self.preservation.preserve(
            row.target_kind, row.target_ref, "removal_order",
            {"order_id": row.id, "reference": row.reference, "authority": row.authority_name,
             "member_state": row.member_state, "legal_basis": row.legal_basis,
             "reasons": row.reasons, "label": row.label, "received_ms": row.received_ms,
             "completed_ms": done, "case_id": case_id},
            order_id=row.id, case_id=case_id, authority_user_id=row.authority_user_id)
        await self._schedule_notice(row.id, row.withhold_until_ms)
        log.info("order %s (%s) executed: %s:%s disabled in %d ms", row.id, row.reference,
                 row.target_kind, row.target_ref, done - row.received_ms)
        return await self._view_by_id(row.id)

    def _statement(self, row: OrderRow, found: Target, case_id: str, now: int
                   ) -> dict[str, Any] | None:
        case = rv.Case(case_id, rv.State.DECIDED, now, frozenset({rv.Source.LEGAL_ORDER}),
                       decision=DECISION_OF_KIND[found.kind], decided_at_ms=now)
        facts = (f"A removal order ({row.reference}) from {row.authority_name} "
                 f"({row.member_state}) under {row.legal_basis}: {row.reasons}")
        sor = from_order(case, f"sor-{case_id}", ground_of_order(row), found.content_kinds,
                         found.created_ms, facts, row.authority_name, territory_of(row),
                         row.category)
        if sor is None:  # pragma: no cover - every order decision restricts something
            return None
        return {"text": render_text(sor), "ground": sor.ground.reference,
                "restrictions": [str(r) for r in sor.restrictions], "source": str(sor.source),
                "automated": str(sor.automated_decision),
                "appeal_until": sor.redress.complaint_until_ms, "id": sor.statement_id,
                "record": to_record(sor)}

    # -- staff: execute again, or answer that we cannot comply -------------------------------
    async def execute(self, who: Principal, order_id: str) -> dict[str, Any]:
        """A moderator or admin runs an open order again (e.g. after a failure; staff
        accounts are then suspended too: a person decided)."""
        row = await self._row(order_id)
        if row.status != mo.Status.OPEN:
            raise Conflict("the order was answered already", "order_answered")
        found = await self.targets.resolve(mo.TargetSpec(
            mo.TargetKind(row.target_kind), row.target_ref,
            int(row.target_ref) if row.target_kind == "post" else None))
        return await self._execute(row, found, f"moderator:{who.username}", allow_staff=True)

    async def cannot_comply(self, who: Principal, order_id: str, reason: str,
                            details: str) -> dict[str, Any]:
        """Annex III: the order cannot be executed (Art. 3(7) and (8))."""
        try:
            why = mo.cannot_comply_reason(reason)
        except mo.OrderError as exc:
            raise _order_error(exc) from exc
        details = _text(details, "details", limits.ORDER_TEXT_MAX)
        row = await self._row(order_id)
        now = self.clock()
        async with self.db.write() as conn:
            if not await self.store.update(
                    conn, row.id, expect_status=mo.Status.OPEN.value,
                    status=mo.Status.CANNOT_COMPLY.value, cannot_comply_reason=why.value,
                    cannot_comply_details=details, answered_ms=now):
                raise Conflict("only an open order can be answered", "order_answered")
            await self.audit.audit(conn, AuditRecord(
                f"moderator:{who.username}", "removal_order_cannot_comply", order_rule(row.id),
                f"{row.target_kind}:{row.target_ref}", now,
                {"reference": row.reference, "reason": why.value, "details": details}))
        return await self._view_by_id(row.id)

    # -- Art. 11: telling the content provider ----------------------------------------------
    async def extend_withholding(self, who: Principal, order_id: str) -> dict[str, Any]:
        """The authority asks to keep the content provider uninformed six weeks longer."""
        row = await self._row(order_id)
        if row.authority_user_id != who.user_id:
            raise NotFound("no such order", "order_not_found")
        now = self.clock()
        try:
            until = mo.extend_withholding(row.withhold_until_ms, row.withhold_extensions,
                                          row.notice_sent_ms, now)
        except mo.OrderError as exc:
            raise Conflict(str(exc), exc.code) from exc
        async with self.db.write() as conn:
            await self.store.update(conn, row.id, withhold_until_ms=until,
                                    withhold_extensions=row.withhold_extensions + 1)
            await self.audit.audit(conn, AuditRecord(
                f"authority:{who.username}", "removal_order_withhold_extended",
                order_rule(row.id), f"{row.target_kind}:{row.target_ref}", now,
                {"reference": row.reference, "withhold_until_ms": until}))
        if row.status == mo.Status.COMPLETED:
            await self._schedule_notice(row.id, until)
        return await self._view_by_id(row.id)

    async def _schedule_notice(self, order_id: str, until_ms: int | None) -> None:
        """A durable job sends the notice when it is due; when it is due now we also try
        at once (the job then finds it sent), so a crash in between loses nothing."""
        await self.jobs.enqueue(NOTICE_JOB, {"order_id": order_id},
                                dedupe_key=f"{NOTICE_JOB}:{order_id}:{until_ms or 0}",
                                delay_ms=max(0, (until_ms or 0) - self.clock()))
        if until_ms is None:
            try:
                await self.send_notice(order_id)
            except (TidingsError, SQLAlchemyError, OSError) as exc:
                log.warning("order %s: notice not sent now (%s); the job retries", order_id,
                            exc)

    async def notice_job(self, ctx: JobContext) -> dict[str, Any]:
        """The durable job that tells the provider once withholding ends. A job of an
        extended withholding finds it not yet due; the later job sends."""
        return {"sent": await self.send_notice(str(ctx.payload.get("order_id", "")))}

    async def send_notice(self, order_id: str) -> bool:
        """Deliver the Art. 11 notice if it is due and was not sent; exactly once."""
        async with self.db.read() as conn:
            row = await self.store.get(conn, order_id)
        now = self.clock()
        if (row is None or row.status != mo.Status.COMPLETED or row.notice_sent_ms is not None
                or row.affected_user_id is None
                or (row.withhold_until_ms is not None and now < row.withhold_until_ms)):
            return False
        async with self.db.write() as conn:
            if not await self.store.mark_notice_sent(conn, row.id, now):
                return False
        async with self.db.read() as conn:
            case = await self.cases.case(conn, row.case_id) if row.case_id else None
        statement = json.loads(case.statement) if case and case.statement else None
        if statement is not None:
            statement.pop("record", None)  # the export's form; the provider reads the text
        body = {"order": {"issuing_authority": row.authority_name, "basis": row.basis,
                          "member_state": row.member_state, "reference": row.reference,
                          "legal_basis": row.legal_basis, "reasons": row.reasons,
                          "received_at": mo.iso(row.received_ms),
                          "removed_at": mo.iso(row.completed_ms)},
                "target": {"kind": row.target_kind, "ref": row.target_ref},
                "statement": statement,
                "redress": redress_of(row)}
        try:
            await self.notices.deliver(row.affected_user_id, NOTICE_KIND, row.case_id, body)
        except BaseException:
            async with self.db.write() as conn:  # not delivered: let the job try again
                await self.store.update(conn, row.id, notice_sent_ms=None)
            raise
        return True

    # -- reading ----------------------------------------------------------------------------
    async def _row(self, order_id: str) -> OrderRow:
        async with self.db.read() as conn:
            row = await self.store.get(conn, order_id[:40])
        if row is None:
            raise NotFound("no such order", "order_not_found")
        return row

    async def _view_by_id(self, order_id: str) -> dict[str, Any]:
        view = self.view(await self._row(order_id))
        view["preservation"] = await self.preservation.of_order(order_id)
        return view

    async def get(self, who: Principal, order_id: str) -> dict[str, Any]:
        """Staff read any order; an authority only its own (others are not found)."""
        row = await self._row(order_id)
        if who.role not in STAFF_READ and row.authority_user_id != who.user_id:
            raise NotFound("no such order", "order_not_found")
        return await self._view_by_id(row.id)

    async def confirmation(self, who: Principal, order_id: str) -> dict[str, Any]:
        """The Annex II confirmation, or the Annex III answer; 409 while still open."""
        view = await self.get(who, order_id)
        if view["status"] == mo.Status.OPEN:
            raise Conflict("the order is still open", "order_open")
        return dict(view["confirmation"] if view["status"] == mo.Status.COMPLETED
                    else view["answer"])

    async def orders(self, who: Principal, status: str | None = None,
                     limit: int = 100) -> list[dict[str, Any]]:
        if status is not None and status not in {s.value for s in mo.Status}:
            raise BadRequest("status is open, completed or cannot_comply", "invalid_status")
        limit = max(1, min(limit, limits.ORDERS_PAGE_MAX))
        own = None if who.role in STAFF_READ else who.user_id
        async with self.db.read() as conn:
            rows = await self.store.items(conn, authority_user_id=own, status=status,
                                          limit=limit)
        return [self.view(r) for r in rows]

    def view(self, row: OrderRow) -> dict[str, Any]:
        now = self.clock()
        out: dict[str, Any] = {
            "id": row.id, "reference": row.reference, "authority_name": row.authority_name,
            "member_state": row.member_state,
            "target": {"kind": row.target_kind, "ref": row.target_ref, "url": row.target_url},
            "legal_basis": row.legal_basis, "reasons": row.reasons, "label": row.label,
            "status": row.status, "received_ms": row.received_ms,
            "completed_ms": row.completed_ms, "answered_ms": row.answered_ms,
            "deadline_ms": mo.deadline_ms(row.received_ms),
            "remaining_ms": mo.remaining_ms(row.status, row.received_ms, now),
            "overdue": mo.overdue(row.status, row.received_ms, now),
            "withhold_until_ms": row.withhold_until_ms,
            "withhold_extensions": row.withhold_extensions,
            "notice_sent_ms": row.notice_sent_ms, "case_id": row.case_id,
            "cannot_comply_reason": row.cannot_comply_reason,
            "cannot_comply_details": row.cannot_comply_details,
            "confirmation": json.loads(row.confirmation) if row.confirmation else None,
            "answer": None,
            "scope": {"basis": row.basis, "legal_basis": row.legal_basis,
                      "label": row.label, "category": row.category,
                      "territorial_scope": territory_of(row),
                      "target": {"kind": row.target_kind, "ref": row.target_ref,
                                 "url": row.target_url}},
            "needs_confirmation": row.needs_confirmation,
            "confirmed_ms": row.confirmed_ms, "confirmed_by": row.confirmed_by,
        }
        if row.status == mo.Status.CANNOT_COMPLY:
            out["answer"] = mo.cannot_comply_answer(row.columns(), self.provider,
                                                    self.contact_point)
        return out


def territory_of(row: OrderRow) -> tuple[str, ...]:
    """The Member States the order has effect in (orders before migration 0011: all)."""
    if row.territorial_scope:
        return tuple(json.loads(row.territorial_scope))
    return tuple(sorted(mo.MEMBER_STATES))


def ground_of_order(row: OrderRow) -> Ground:
    """The law the order cites and what the authority found."""
    who = f"{row.authority_name} ({row.member_state})"
    if row.basis == mo.LegalBasis.DSA_ART9:
        return order_ground(
            row.label, f"Regulation (EU) 2022/2065, Art. 9; {row.legal_basis}",
            f"{who} ordered action against this content as illegal content "
            f"({row.category}) under {row.legal_basis}.")
    return order_ground(
        row.label, f"Regulation (EU) 2021/784, Art. 3 (removal order); {row.legal_basis}",
        f"{who} found this to be terrorist content (Regulation (EU) 2021/784, Art. 2(7)) and "
        "ordered its removal.")


def redress_of(row: OrderRow) -> str:
    """What the content provider can do (TCO Arts. 9 and 10; DSA Art. 9(5) and 20)."""
    if row.basis == mo.LegalBasis.DSA_ART9:
        return ("You may complain about the measure in the app (appeal this case; DSA Art. "
                "20) and challenge the order before the courts of "
                f"{row.member_state} (DSA Art. 9(2)(a)(iii))).")
    return ("You may complain about the removal in the app (appeal this case; TCO Art. 10) "
            f"and challenge the removal order before the courts of {row.member_state} "
            "(TCO Art. 9).")

"""The review queue: claim (a lease), decide, appeal, decide the appeal.

The rules live in the pure state machine (``moderation/review.py``); this service
loads a case, feeds it events with the clock's time, stores the result and does what
the decision means: apply it (``Enforcer``), write the statement of reasons (DSA
Art. 17) into the affected user's system inbox, tell the notifiers the outcome (DSA
Art. 16(5)), and on a successful appeal (DSA Art. 20(4)) put the content back.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Final, Protocol

from tidings.moderation import review as rv
from tidings.moderation import vocabulary as vocab
from tidings.moderation.reasons import (
    GROUND_PRIORITY,
    ContentKind,
    from_decision,
    render_text,
    to_record,
)
from tidings.protocol import limits
from tidings.protocol.errors import BadRequest, Conflict, NotFound, TidingsError
from tidings.services.accounts import Principal
from tidings.services.cases import case_columns, load
from tidings.services.clock import Clock
from tidings.services.enforcement import Enforcer
from tidings.services.notices import NoticeService
from tidings.services.reports import message_view
from tidings.services.returning import ReturningChannels
from tidings.storage.accounts import AccountStore
from tidings.storage.actions import ActionStore
from tidings.storage.channels import ChannelStore
from tidings.storage.database import Database
from tidings.storage.reports import CaseRow, ReportStore

#: Policies a moderator names, by short name; the value is the statement's ground.
POLICIES: Final = {name: p.label for name, p in vocab.POLICIES.items()}
WAITING: Final = ("open", "escalated", "appealed")
LEASED: Final = ("claimed", "appeal_claimed")
HISTORY_MAX: Final = 20


def policy_label(policy: str) -> str:
    """The ground label of a policy named by its short name, its label or the report
    category that suggests it (``harassment``, ``illegal``: moderation/vocabulary.py)."""
    try:
        return vocab.policy(policy).label
    except vocab.VocabularyError as exc:
        raise BadRequest(str(exc), exc.code) from exc


def suggested_policy(row: CaseRow, categories: list[str]) -> str:
    """The policy the decide form starts on: the one already chosen (an escalation), else
    the first report's category's, else the gravest label of the matches."""
    if row.policy:
        try:
            return vocab.policy(row.policy).name
        except vocab.VocabularyError:  # an order's own label: the form starts on "other"
            return "other"
    for category in categories:
        if category in vocab.REPORT_CATEGORIES:
            return vocab.policy_of_category(category).name
    labels = {lab for m in (json.loads(row.matches) if row.matches else [])
              for lab in m.get("labels", [])}
    label = next((lab for lab in GROUND_PRIORITY if lab in labels), None)
    return vocab.policy(label).name if label else "other"


class EntryReview(Protocol):
    """Bank entries under review (``services/entry_safety.py``)."""

    async def no_violation(self, case_id: str, matches: list[dict[str, Any]]) -> None: ...

    async def describe(self, entry_id: int) -> dict[str, Any]: ...

    async def decide(self, entry_id: int, restore: bool, case_id: str, who: str
                     ) -> dict[str, Any]: ...


ENTRY_KIND: Final = "bank_entry"
"""Cases about a quarantined bank entry: ``remove`` disables it, ``no_violation``
restores it (the entry is sound)."""


def _error(exc: rv.ReviewError) -> Conflict:
    return Conflict(str(exc), exc.code)


class ReviewService:

    def __init__(self, db: Database, store: ReportStore, accounts: AccountStore,
                 channels: ChannelStore, enforcer: Enforcer, notices: NoticeService,
                 clock: Clock, returning: ReturningChannels | None = None,
                 entries: EntryReview | None = None, *, actions: ActionStore) -> None:
        self.db = db
        self.actions = actions
        """Strikes and bans, for the account history on the case page."""
        self.store = store
        self.accounts = accounts
        self.channels = channels
        self.enforcer = enforcer
        self.notices = notices
        self.clock = clock
        self.returning = returning
        """Returning channels held for review (issue 24): side by side, and decided."""
        self.entries = entries

    async def _row(self, case_id: str) -> CaseRow:
        async with self.db.read() as conn:
            row = await self.store.case(conn, case_id)
        if row is None:
            raise NotFound("no such case", "case_not_found")
        return row

    async def _save(self, row: CaseRow, case: rv.Case, **extra: Any) -> CaseRow:
        """Store ``case`` if the row still holds what ``row`` read (409 otherwise)."""
        columns = {**case_columns(case, self.clock()), **extra}
        async with self.db.write() as conn:
            if not await self.store.update_case(conn, row.id, row.record, **columns):
                raise Conflict("someone else changed this case; reload it", "case_changed")
        return dataclasses.replace(row, **columns)

    def _feed(self, case: rv.Case, event: rv.Event) -> rv.Case:
        try:
            return rv.apply(case, event)
        except rv.ReviewError as exc:
            raise _error(exc) from exc

    async def _expire(self, row: CaseRow) -> tuple[CaseRow, rv.Case]:
        """A lapsed lease releases the case (back to the queue)."""
        case = load(row)
        now = self.clock()
        if (case.state in rv.LEASED_STATES and case.lease_expires_ms is not None
                and now >= case.lease_expires_ms):
            try:
                row = await self._save(row, rv.apply(case, rv.LeaseExpired(now)))
            except Conflict:  # someone else expired or claimed it meanwhile
                row = await self._row(row.id)
            case = load(row)
        return row, case

    # -- the queue --------------------------------------------------------------------
    async def queue(self, *, kind: str | None = None, source: str | None = None,
                    state: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        limit = max(1, min(limit, limits.REVIEW_QUEUE_PAGE_MAX))
        states = (state,) if state else (*WAITING, *LEASED)
        async with self.db.read() as conn:
            rows = await self.store.cases(conn, states, limit * 2, kind)
        cases = []
        for row in rows:
            row, case = await self._expire(row)
            if state is None and case.state not in (rv.State.OPEN, rv.State.ESCALATED,
                                                    rv.State.APPEALED):
                continue
            if source and source not in {str(s) for s in case.sources}:
                continue
            cases.append((row, case))
        ordered = rv.queue_order(c for _, c in cases) if state is None else [c for _, c in cases]
        by_id = {r.id: r for r, _ in cases}
        return [self._summary(by_id[c.case_id], c) for c in ordered[:limit]]

    def _summary(self, row: CaseRow, case: rv.Case) -> dict[str, Any]:
        top = min(case.sources, key=list(rv.Source).index) if case.sources else None
        return {"id": row.id, "target": {"kind": row.target_kind, "ref": row.target_ref},
                "state": str(case.state), "source": str(top) if top else None,
                "sources": sorted(str(s) for s in case.sources), "report_count": case.reports,
                "hold_count": case.holds, "created_at": case.created_ms,
                "lease_holder": case.lease_holder, "lease_expires_at": case.lease_expires_ms,
                "decision": str(case.decision) if case.decision else None,
                "policy": row.policy, "terrorist_content": case.terrorist_content,
                "appeal_due_at": rv.appeal_due_ms(case),
                "appeal_overdue": rv.appeal_overdue(case, self.clock())}

    async def case(self, case_id: str) -> dict[str, Any]:
        """Everything a moderator needs: content, matches, reports, verification, history."""
        row, case = await self._expire(await self._row(case_id))
        row = await self._row(case_id)
        out = self._summary(row, case)
        async with self.db.read() as conn:
            reports = await self.store.reports_of_case(conn, case_id)
            messages = await self.store.messages(conn, [r.id for r in reports])
            history = ([] if row.affected_user_id is None else
                       await self.store.cases_about(conn, row.affected_user_id, HISTORY_MAX))
            affected = (None if row.affected_user_id is None else
                        await self.accounts.user_by_id(conn, row.affected_user_id))
            out["content"] = await self._content(conn, row)
            account = await self._account_history(conn, affected)
        if self.returning is not None and row.target_kind == "channel":
            found = await self.returning.side_by_side(row.id, int(row.target_ref))
            if found is not None:  # the held channel beside the banned one it resembles
                out["content"]["returning"] = found
        if row.target_kind == ENTRY_KIND and self.entries is not None:
            out["content"] = await self.entries.describe(int(row.target_ref))
        out["affected_user"] = affected.username if affected else None
        out["account"] = account
        kinds = vocab.actions_for(row.target_kind, row.affected_user_id is not None)
        out["actions"] = [str(a) for a in kinds]
        out["default_action"] = str(kinds[0])
        out["policies"] = list(vocab.POLICIES)
        out["default_policy"] = suggested_policy(row, [r.category for r in reports])
        out["matches"] = json.loads(row.matches) if row.matches else []
        out["reports"] = [{
            "id": r.id, "category": r.category, "explanation": r.explanation,
            "location": r.location, "source": r.source, "verified": r.verified,
            "status": r.status, "created_at": r.created_at,
            "messages": [{"position": m.position, "message_id": m.message_id,
                          "sender": m.sender, "sender_device": m.sender_device,
                          "conversation": m.conversation, "ts": m.ts,
                          **message_view(m.payload), "verdict": m.verdict}
                         for m in messages if m.report_id == r.id]} for r in reports]
        out["history"] = [{"id": h.id, "state": h.state, "policy": h.policy,
                           "decision": load(h).decision, "created_at": h.created_at}
                          for h in history if h.id != case_id]
        statement = json.loads(row.statement) if row.statement else None
        if statement is not None:
            statement.pop("record", None)  # the export's form; the console shows the text
        out["statement"] = statement
        out["appeal_text"] = row.appeal_text
        out["appeal_answer"] = row.appeal_answer
        out["decided_by"] = case.decided_by
        out["appellant"] = case.appellant
        out["appeal_decision"] = str(case.appeal_decision) if case.appeal_decision else None
        return out

    async def _account_history(self, conn: Any, user: Any) -> dict[str, Any] | None:
        """Strikes (expired ones too), channels taken down and a suspension of the
        account the case is about; its earlier cases are ``history``."""
        if user is None:
            return None
        now = self.clock()
        strikes = await self.actions.strikes_of(conn, user.id, HISTORY_MAX)
        return {"username": user.username, "suspended_at": user.suspended_at,
                "active_strikes": await self.actions.active_strikes(conn, user.id, now),
                "strikes": [{**s, "active": s["expires_at"] > now} for s in strikes],
                "bans": await self.actions.bans_of_owner(conn, user.id, HISTORY_MAX)}

    async def _content(self, conn: Any, row: CaseRow) -> dict[str, Any]:
        if row.target_kind == ENTRY_KIND:
            return {"kind": ENTRY_KIND, "entry_id": int(row.target_ref)}
        if row.target_kind == "post":
            post = await self.channels.post(conn, int(row.target_ref))
            if post is None:
                return {"kind": "post", "missing": True}
            channel = await self.channels.by_id(conn, post.channel_id)
            deleted = post.deleted_at is not None
            return {"kind": "post", "id": post.id, "number": post.number,
                    "channel": channel.handle if channel else None, "text": post.text,
                    "media": json.loads(post.media),
                    "state": "deleted" if deleted else post.state,
                    "deleted": deleted, "created_at": post.created_at}
        if row.target_kind == "channel":
            channel = await self.channels.by_id(conn, int(row.target_ref))
            out = {"kind": "channel", "handle": channel.handle if channel else None,
                   "title": channel.title if channel else None,
                   "description": channel.description if channel else None,
                   "state": channel.state if channel else None}
            return out
        if row.target_kind == "account":
            return {"kind": "account", "user_id": int(row.target_ref)}
        return {"kind": "message", "commitment": row.target_ref}

    # -- leases ------------------------------------------------------------------------
    async def claim(self, who: Principal, case_id: str,
                    lease_ms: int = limits.REVIEW_LEASE_DEFAULT_MS) -> dict[str, Any]:
        row, case = await self._expire(await self._row(case_id))
        case = self._feed(case, rv.Claim(who.username, self.clock(), lease_ms))
        row = await self._save(row, case)
        return self._summary(row, case)

    async def release(self, who: Principal, case_id: str) -> dict[str, Any]:
        row, case = await self._expire(await self._row(case_id))
        case = self._feed(case, rv.Release(who.username))
        row = await self._save(row, case)
        return self._summary(row, case)

    async def _held(self, who: Principal, case_id: str) -> tuple[CaseRow, rv.Case]:
        """The case with ``who`` holding its lease (claiming it if nobody does)."""
        row, case = await self._expire(await self._row(case_id))
        if case.lease_holder != who.username:
            case = self._feed(case, rv.Claim(who.username, self.clock(),
                                             limits.REVIEW_LEASE_DEFAULT_MS))
        return row, case

    # -- decisions ----------------------------------------------------------------------
    async def decide(self, who: Principal, case_id: str, action: str, policy: str,
                     facts: str = "") -> dict[str, Any]:
        try:
            decision = rv.Decision(action)
        except ValueError as exc:
            raise BadRequest(f"action must be one of {', '.join(rv.Decision)}",
                             "bad_action") from exc
        label = policy_label(policy)
        row, case = await self._held(who, case_id)
        self.enforcer.check(decision, row.target_kind, row.affected_user_id)
        now = self.clock()
        case = self._feed(case, rv.Decide(who.username, decision, now))
        if decision is rv.Decision.ESCALATE:
            row = await self._save(row, case, policy=label)
            return self._summary(row, case)
        if row.target_kind == ENTRY_KIND:
            return await self._decide_entry(who, row, case, decision, label)
        if label == "category:terrorist_content":
            case = dataclasses.replace(case, terrorist_content=True)
        before = row
        row = await self._save(row, case, policy=label)  # the compare-and-set: ours now
        snapshot: dict[str, Any] = {}
        try:
            if decision is rv.Decision.NO_VIOLATION:
                await self.enforcer.release_hold(row.target_kind, row.target_ref)
            else:
                snapshot = await self.enforcer.apply(decision, row.target_kind, row.target_ref,
                                                     row.affected_user_id, case_id, label)
        except TidingsError:  # e.g. the post is gone: the case is not decided after all
            async with self.db.write() as conn:
                await self.store.update_case(conn, case_id, row.record, state=before.state,
                                             rank=before.rank, record=before.record,
                                             policy=before.policy)
            raise
        if self.returning is not None and row.target_kind == "channel":
            await self.returning.decided(case_id, decision, label)
        content = await self._created_and_kinds(row)
        facts = facts or self._facts(row, case)
        sor = from_decision(case, f"sor-{case_id}", label, content[1], content[0], facts)
        statement = None
        if sor is not None:
            text = render_text(sor)
            statement = {"text": text, "ground": sor.ground.reference,
                         "restrictions": [str(r) for r in sor.restrictions],
                         "source": str(sor.source), "automated": str(sor.automated_decision),
                         "appeal_until": sor.redress.complaint_until_ms, "id": sor.statement_id}
        stored = None if sor is None else {**(statement or {}), "record": to_record(sor)}
        async with self.db.write() as conn:
            await self.store.update_case(conn, case_id, snapshot=json.dumps(snapshot),
                                         statement=json.dumps(stored) if stored else None)
        if statement is not None and row.affected_user_id is not None:
            await self.notices.deliver(row.affected_user_id, "statement_of_reasons", case_id,
                                       {"decision": str(decision), "policy": label,
                                        "statement": statement})
        await self._tell_notifiers(case_id, decision, now)
        if decision is rv.Decision.NO_VIOLATION and row.matches and self.entries is not None:
            await self.entries.no_violation(case_id, json.loads(row.matches))
        return self._summary(row, case)

    async def _decide_entry(self, who: Principal, row: CaseRow, case: rv.Case,
                            decision: rv.Decision, label: str) -> dict[str, Any]:
        """A quarantined entry's case: ``remove`` disables it, ``no_violation`` restores
        it. No statement of reasons: nobody's content or account is restricted."""
        if decision not in (rv.Decision.REMOVE, rv.Decision.NO_VIOLATION):
            raise BadRequest("a bank entry's case is decided remove (disable the entry) or "
                             "no_violation (restore it)", "not_applicable")
        if self.entries is None:
            raise BadRequest("bank entries cannot be reviewed on this server",
                             "not_applicable")
        row = await self._save(row, case, policy=label)
        snapshot = await self.entries.decide(int(row.target_ref),
                                             decision is rv.Decision.NO_VIOLATION, row.id,
                                             who.username)
        async with self.db.write() as conn:
            await self.store.update_case(conn, row.id, snapshot=json.dumps(snapshot))
        return self._summary(row, case)

    async def _created_and_kinds(self, row: CaseRow) -> tuple[int, list[ContentKind]]:
        if row.target_kind == "post":
            async with self.db.read() as conn:
                post = await self.channels.post(conn, int(row.target_ref))
            if post is not None:
                kinds = [ContentKind.TEXT] if post.text else []
                if json.loads(post.media):
                    kinds.append(ContentKind.IMAGE)
                return post.created_at, kinds or [ContentKind.TEXT]
        return row.created_at, [ContentKind.TEXT]

    @staticmethod
    def _facts(row: CaseRow, case: rv.Case) -> str:
        parts = []
        if case.reports:
            parts.append(f"{case.reports} report(s) about this {row.target_kind}")
        matches = json.loads(row.matches) if row.matches else []
        for m in matches:
            if isinstance(m.get("resembles"), dict):
                r = m["resembles"]
                signals = ", ".join(str(x["signal"]) for x in r.get("signals", []))
                parts.append(f"its resemblance to the banned channel @{r.get('handle')} "
                             f"(score {r.get('score')}: {signals})")
        banks = sorted({m["bank"] for m in matches if "resembles" not in m
                        and m.get("bank") != "RULES"})
        if banks:
            parts.append("a match in the hash bank(s) " + ", ".join(banks))
        parts.append("a moderator's review of the content")
        return "; ".join(parts) + "."

    async def _tell_notifiers(self, case_id: str, decision: rv.Decision, now: int) -> None:
        outcome = ("We found no violation and took no action."
                   if decision is rv.Decision.NO_VIOLATION else
                   f"We reviewed the content and acted on it ({decision}).")
        async with self.db.write() as conn:
            reports = await self.store.reports_of_case(conn, case_id)
            await self.store.set_outcome(conn, case_id, "decided", outcome, now)
        for reporter in sorted({r.reporter_id for r in reports if r.reporter_id is not None}):
            await self.notices.deliver(reporter, "report_outcome", case_id,
                                       {"outcome": outcome,
                                        "reports": [r.id for r in reports
                                                    if r.reporter_id == reporter]})

    # -- appeals (DSA Art. 20) -------------------------------------------------------------
    async def appeal(self, who: Principal, case_id: str, text: str) -> dict[str, Any]:
        if not text.strip() or len(text) > limits.APPEAL_TEXT_MAX:
            raise BadRequest(f"say why, in 1..{limits.APPEAL_TEXT_MAX} characters",
                             "bad_appeal_text")
        row, case = await self._expire(await self._row(case_id))
        if row.affected_user_id != who.user_id:
            raise NotFound("no such decision about you", "case_not_found")
        case = self._feed(case, rv.Appeal(who.username, self.clock()))
        await self._save(row, case, appeal_text=text)
        return {"case_id": case_id, "state": str(case.state),
                "answer_due_at": rv.appeal_due_ms(case),
                "message": "We received your appeal; a different moderator will decide it."}

    async def decide_appeal(self, who: Principal, case_id: str, decision: str,
                            answer: str) -> dict[str, Any]:
        try:
            outcome = rv.AppealDecision(decision)
        except ValueError as exc:
            raise BadRequest("decision must be uphold or reverse", "bad_action") from exc
        row, case = await self._held(who, case_id)
        case = self._feed(case, rv.DecideAppeal(who.username, outcome, self.clock()))
        answer = answer.strip() or ("We reversed the decision and restored your content."
                                    if outcome is rv.AppealDecision.REVERSE else
                                    "We looked again and upheld the decision.")
        row = await self._save(row, case, appeal_answer=answer)
        if outcome is rv.AppealDecision.REVERSE and row.snapshot:
            await self.enforcer.restore(json.loads(row.snapshot))
        if row.affected_user_id is not None:
            await self.notices.deliver(row.affected_user_id, "appeal_decision", case_id,
                                       {"decision": str(outcome), "answer": answer})
        return self._summary(row, case)

    async def reveal_media(self, who: Principal) -> bool:
        async with self.db.read() as conn:
            return await self.store.reveal_media(conn, who.user_id)

    async def set_reveal_media(self, who: Principal, reveal: bool) -> None:
        async with self.db.write() as conn:
            await self.store.set_reveal_media(conn, who.user_id, reveal)

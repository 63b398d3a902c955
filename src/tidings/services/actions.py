"""Apply what the rules (or a moderator) asked for: once, audited, in one transaction.

Each ``ActionRequest`` carries an idempotency key (``moderation/actions.py``); its
row in ``moderation_actions`` is unique, so a retried check, a duplicated upload or
a second click changes nothing twice. The action's effects and its audit record
(``moderation/audit.py``) are written in the same transaction. Auto-banking goes
through ``BankService`` after the commit, so every server process picks the new
entries up through the bank change log.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.bus.base import Bus
from tidings.moderation import labels as L
from tidings.moderation.actions import MS_PER_DAY, ActionKind, ActionRequest
from tidings.moderation.audit import AuditRecord, VerifyResult, verify_chain
from tidings.moderation.engine import Actor, Decision
from tidings.moderation.reasons import ContentKind, from_outcome, render_text, to_record
from tidings.moderation.rules import ESCALATION_RULE_PREFIX, ActorHistory, escalate
from tidings.moderation.text_signals import bankable
from tidings.protocol.control import ChannelClosed, EndReason, Frame, SessionEnded
from tidings.services.banks import BankService
from tidings.services.clock import Clock
from tidings.services.live import end_sessions, to_channel
from tidings.storage.accounts import AccountStore
from tidings.storage.actions import ActionStore
from tidings.storage.channel_schema import channels
from tidings.storage.console_sessions import end_console_sessions
from tidings.storage.database import Database
from tidings.storage.schema import users
from tidings.storage.sessions import record_end

SYSTEM_ACTOR: Final = "system"
LOCAL_TAKEDOWN_BANK: Final = "LOCAL_TAKEDOWN"
AUTO_BANK_SOURCE: Final = "auto_bank"
DEFAULT_TAKEDOWN_LABEL: Final = L.TERRORIST_CONTENT
#: What the notice of a banned channel says it was used to spread, by label.
BAN_NOTICE_BY_LABEL: Final = {
    L.TERRORIST_CONTENT: "terrorist content",
    L.VIOLENT_EXTREMISM: "violent extremist content",
    L.OTHER_ILLEGAL: "illegal content",
    L.SPAM: "spam",
}
DEFAULT_BAN_NOTICE: Final = "content that breaks the rules"
_PRIORITY: Final = (L.TERRORIST_CONTENT, L.OTHER_ILLEGAL, L.VIOLENT_EXTREMISM, L.SPAM)


def ban_notice(ground: str) -> str:
    return f"This channel is unavailable: it was used to spread {ground}."


def channel_event(handle: str, kind: str, notice: str) -> str:
    """The live frame subscribers of a channel get when it is banned."""
    return json.dumps({"type": "channel", "channel": handle, "seq": 0, "kind": kind,
                       "notice": notice})


#: Verdict actions: a measure of each publishing attempt (see ``ActionService.apply``).
PER_ATTEMPT: Final = frozenset({ActionKind.REJECT, ActionKind.HOLD})
#: Actions that restrict someone and so need a statement of reasons (DSA Art. 17(1)).
RESTRICTIVE_ACTIONS: Final = frozenset({ActionKind.REJECT, ActionKind.HOLD,
                                        ActionKind.BAN_CHANNEL, ActionKind.SUSPEND_ACCOUNT})
STATEMENT_NOTICE: Final = "statement_of_reasons"


BanHook = Callable[[int, str, str], Awaitable[Any]]


class NoticeSink(Protocol):
    async def deliver(self, user_id: int, kind: str, case_id: str | None,
                      body: dict[str, Any]) -> int: ...


def attempt_key(key: str, attempt: str) -> str:
    """The idempotency key of a verdict for one publishing attempt."""
    return hashlib.sha256(f"{key}:{attempt}".encode()).hexdigest()


def top_label(labels: Sequence[str]) -> str | None:
    return next((lab for lab in _PRIORITY if lab in labels), None)


@dataclass
class Applied:
    """What one ``apply`` changed (requests already applied before are not listed)."""

    kinds: list[ActionKind] = field(default_factory=list)
    statement: dict[str, Any] | None = None
    banned_channels: list[int] = field(default_factory=list)
    strikes: int | None = None
    """Active strikes after this decision, when it added one."""
    thresholds: dict[ActionKind, int] = field(default_factory=dict)
    ended: list[SessionEnded] = field(default_factory=list)


def _id_of(target: str, kind: str) -> int | None:
    prefix, _, value = target.partition(":")
    return int(value) if prefix == kind and value.isdigit() else None


class ActionService:
    def __init__(self, db: Database, store: ActionStore, accounts: AccountStore,
                 banks: BankService, bus: Bus, clock: Clock, notices: NoticeSink | None = None,
                 on_ban: Sequence[BanHook] = ()) -> None:
        self.db = db
        self.store = store
        self.banks = banks
        self.bus = bus
        self.clock = clock
        self.accounts = accounts
        self.notices = notices
        """The system inbox (``NoticeService``)."""
        self.on_ban = tuple(on_ban)
        """Told of every channel ban (channel id, label, cause) after it is committed."""

    async def history(self, actor: Actor) -> ActorHistory:
        """The actor's facts for the rules: active strikes, age, prior channel bans."""
        now = self.clock()
        async with self.db.read() as conn:
            user = await self.accounts.user_by_id(conn, actor.user_id)
            strikes = await self.store.active_strikes(conn, actor.user_id, now)
            bans = await self.store.prior_owner_bans(conn, actor.user_id)
        age = (now - user.created_at) // MS_PER_DAY if user else 0
        return ActorHistory(strikes, max(0, age), bans)

    async def audit(self, conn: AsyncConnection, actor: str, action: str, rule: str,
                    target: str, **details: Any) -> None:
        await self.store.audit(conn, AuditRecord(actor, action, rule, target, self.clock(),
                                                 details))

    async def apply(self, decision: Decision, content_ref: str | None = None) -> Applied:
        """Apply the decision's action requests once each; returns what changed.

        ``content_ref`` names a stored item (a retro-scan): its requests are idempotent
        per item. Without it the decision is one publishing attempt: its verdict
        (reject, hold) is a measure of that attempt, recorded and explained each time
        (a refused repost counts as one), while strikes, bans and auto-banking stay
        once per content. A threshold measure (``threshold:*``) applies only when the
        strikes stored after this decision reach it and the target is not already
        under it, so a repeated attempt never bans early and a ban counts once.
        The statement of reasons covers what this decision really did, and goes to
        the affected person's inbox (DSA Art. 17(1)); a banned channel's owner gets it
        too."""
        outcome = decision.outcome
        if outcome is None or not outcome.requests:
            return Applied()
        labels = [lab for m in outcome.matches for lab in m.labels]
        ground = BAN_NOTICE_BY_LABEL.get(top_label(labels) or "", DEFAULT_BAN_NOTICE)
        actor = decision.actor
        requests = list(outcome.requests)
        if content_ref is not None:  # a stored item: name it instead of the content hash
            requests = [dataclasses.replace(r, target=f"content:{content_ref}")
                        if r.target.startswith("content:") else r for r in requests]
        attempt = None
        if content_ref is None:
            attempt = secrets.token_hex(8)
            requests = [dataclasses.replace(r, idempotency_key=attempt_key(
                r.idempotency_key, attempt)) if r.kind in PER_ATTEMPT else r
                for r in requests]
        applied = Applied()
        done: list[ActionRequest] = []
        now = self.clock()
        async with self.db.write() as conn:
            strikes_now: int | None = None
            for request in requests:
                if request.rule.startswith(ESCALATION_RULE_PREFIX):
                    if ActionKind.STRIKE not in applied.kinds:
                        continue  # no new strike: the count did not change
                    if strikes_now is None:
                        strikes_now = await self._strikes_of(conn, request, actor, now)
                    if (request.kind not in escalate(strikes_now, outcome.thresholds)
                            or await self._already(conn, request)):
                        continue
                if not await self._claim(conn, request, SYSTEM_ACTOR, now):
                    continue
                applied.kinds.append(request.kind)
                done.append(request)
                await self._effect(conn, request, actor, ground, now, applied)
                await self.audit(conn, SYSTEM_ACTOR, request.kind.value, request.rule,
                                 request.target, ruleset_version=request.ruleset_version,
                                 cause=request.cause, entry_ids=list(request.entry_ids),
                                 key=request.idempotency_key,
                                 **({"attempt": attempt} if request.kind in PER_ATTEMPT
                                    and attempt else {}))
            applied.statement = await self._statement(conn, decision, done, now)
            if applied.statement is not None and ActionKind.STRIKE in applied.kinds:
                applied.strikes = await self._strikes_of(conn, done[0], actor, now)
                applied.thresholds = dict(outcome.thresholds)
            owners = await self._owners(conn, applied.banned_channels)
        await self._after_commit(applied, decision, labels, ground)
        await self._notify(applied, actor, owners)
        return applied

    async def _strikes_of(self, conn: AsyncConnection, request: ActionRequest,
                          actor: Actor | None, now: int) -> int:
        user_id = actor.user_id if actor is not None else _id_of(request.target, "account")
        return 0 if user_id is None else await self.store.active_strikes(conn, user_id, now)

    async def _already(self, conn: AsyncConnection, request: ActionRequest) -> bool:
        """Is the threshold's target already under the measure (banned, suspended)?"""
        if request.kind is ActionKind.BAN_CHANNEL:
            channel_id = _id_of(request.target, "channel")
            state = (await conn.execute(sa.select(channels.c.state).where(
                channels.c.id == channel_id))).scalar_one_or_none()
            return state in (None, "banned")
        if request.kind is ActionKind.SUSPEND_ACCOUNT:
            user_id = _id_of(request.target, "account")
            row = (await conn.execute(sa.select(users.c.suspended_at).where(
                users.c.id == user_id))).first()
            return row is None or row[0] is not None
        return False

    async def _statement(self, conn: AsyncConnection, decision: Decision,
                         done: list[ActionRequest], now: int) -> dict[str, Any] | None:
        """One statement of reasons for what this decision restricted (DSA Art. 17)."""
        outcome = decision.outcome
        restrictive = [r for r in done if r.kind in RESTRICTIVE_ACTIONS]
        if outcome is None or not restrictive:
            return None
        sor = from_outcome(dataclasses.replace(outcome, requests=tuple(done)),
                           restrictive[0].idempotency_key[:16], content_kinds(decision), now,
                           now, decision_flags(decision))
        if sor is None:
            return None
        body = {"statement_id": sor.statement_id, "text": render_text(sor),
                "ground": sor.ground.reference,
                "restrictions": [str(r) for r in sor.restrictions]}
        actor = decision.actor
        await self.store.add_statement(conn, restrictive[0].target,
                                       actor.user_id if actor else None,
                                       {**body, "record": to_record(sor)}, now)
        return body

    async def _owners(self, conn: AsyncConnection, channel_ids: list[int]) -> set[int]:
        if not channel_ids:
            return set()
        rows = await conn.execute(sa.select(channels.c.owner_id).where(
            channels.c.id.in_(channel_ids)))
        return {int(r[0]) for r in rows if r[0] is not None}

    async def _notify(self, applied: Applied, actor: Actor | None, owners: set[int]) -> None:
        """Deliver the statement to the person the measure is against (and to the owner
        of a channel it banned), in their inbox: ``tidings notices``, TUI, WebSocket."""
        if applied.statement is None or self.notices is None:
            return
        body: dict[str, Any] = {
            "decision": next((k.value for k in applied.kinds if k in RESTRICTIVE_ACTIONS),
                             ActionKind.REJECT.value),
            "measures": list(dict.fromkeys(k.value for k in applied.kinds)),
            "statement": applied.statement}
        if applied.strikes is not None:
            body["strikes"] = {"active": applied.strikes,
                               "thresholds": {k.value: v for k, v in applied.thresholds.items()}}
        recipients = ({actor.user_id} if actor is not None else set()) | owners
        for user_id in sorted(recipients):
            await self.notices.deliver(user_id, STATEMENT_NOTICE, None, body)

    async def _claim(self, conn: AsyncConnection, request: ActionRequest, actor: str,
                     now: int) -> bool:
        """Record the action; every action of one decision carries the decision's time,
        so two rules asking for the same measure count as one measure."""
        return await self.store.claim(
            conn, request.idempotency_key, kind=request.kind.value, rule=request.rule,
            ruleset_version=request.ruleset_version, target=request.target[:160],
            cause=request.cause[:160], actor=actor, created_at=now)

    async def _effect(self, conn: AsyncConnection, request: ActionRequest,
                      actor: Actor | None, ground: str, now: int, applied: Applied) -> None:
        match request.kind:
            case ActionKind.STRIKE:
                user_id = _id_of(request.target, "account")
                if user_id is not None:
                    await self.store.add_strike(conn, user_id, request.weight, request.rule,
                                                request.cause, now,
                                                now + (request.duration_ms or 0))
            case ActionKind.BAN_CHANNEL:
                channel_id = _id_of(request.target, "channel")
                if channel_id is not None:
                    await self._ban(conn, channel_id, ground, request.rule, now)
                    applied.banned_channels.append(channel_id)
            case ActionKind.SUSPEND_ACCOUNT:
                user_id = _id_of(request.target, "account")
                if user_id is not None:
                    await conn.execute(users.update().where(users.c.id == user_id)
                                       .values(suspended_at=now))
                    applied.ended.append(
                        await record_end(conn, user_id, None, EndReason.SUSPENDED, now))
                    await end_console_sessions(conn, user_id)
            case ActionKind.HOLD | ActionKind.ALLOW_AND_FLAG:
                await self.store.add_flag(conn, request.target, request.rule, now)
            case ActionKind.REJECT | ActionKind.AUTO_BANK:
                pass  # the gate refuses the content; auto-banking happens after commit

    async def _ban(self, conn: AsyncConnection, channel_id: int, ground: str, rule: str,
                   now: int) -> None:
        owner = (await conn.execute(sa.select(channels.c.owner_id)
                                    .where(channels.c.id == channel_id))).scalar_one_or_none()
        if owner is not None:
            await self.store.ban_channel(conn, channel_id, int(owner), ground, rule, now)

    async def _after_commit(self, applied: Applied, decision: Decision, labels: list[str],
                            ground: str) -> None:
        for channel_id in applied.banned_channels:
            await self.announce_ban(channel_id, ground, top_label(labels), "strike_threshold")
        await end_sessions(self.bus, applied.ended)
        # A copy caught by the takedown bank itself is not banked again: its other forms
        # would be entries no reversed appeal knows to withdraw (and copies would chain).
        # Judged on the rules' matches, which every caller fills (the retro-scan's
        # decisions carry no ``reasons``, and a copy it removed was re-banked).
        matches = decision.outcome.matches if decision.outcome else ()
        already = bool(matches) and all(m.bank == LOCAL_TAKEDOWN_BANK for m in matches)
        if ActionKind.AUTO_BANK in applied.kinds and not already:
            pairs = sorted(bankable(decision.signals))
            await self.auto_bank(pairs, top_label(labels) or DEFAULT_TAKEDOWN_LABEL)

    async def announce_ban(self, channel_id: int, ground: str, label: str | None = None,
                           cause: str = "rules") -> None:
        """Tell the channel's subscribers, close its feed everywhere, and tell whoever
        keeps track of banned channels (their fingerprints: ``services/returning.py``)."""
        await self.channel_banned(channel_id, label, cause)
        async with self.db.read() as conn:
            handle = (await conn.execute(sa.select(channels.c.handle)
                                         .where(channels.c.id == channel_id))).scalar_one()
        await to_channel(self.bus, channel_id,
                         Frame(channel_event(str(handle), "banned", ban_notice(ground))))
        await self.close_channel(channel_id)

    async def channel_banned(self, channel_id: int, label: str | None, cause: str) -> None:
        """Every ban, whatever took it (an order, the strike threshold, a moderator),
        runs the ``on_ban`` hooks once it is committed."""
        for hook in self.on_ban:
            await hook(channel_id, label or DEFAULT_TAKEDOWN_LABEL, cause)

    async def close_channel(self, channel_id: int) -> None:
        """A ban revokes access: every socket on every process drops the channel's feed."""
        await to_channel(self.bus, channel_id, ChannelClosed(channel_id))

    async def auto_bank(self, pairs: Sequence[tuple[str, str]], label: str) -> int:
        """Bank signals of removed content in the local takedown bank (created if absent)."""
        return len(await self.auto_bank_entries(pairs, label))

    async def auto_bank_entries(self, pairs: Sequence[tuple[str, str]], label: str
                                ) -> list[int]:
        """Like :meth:`auto_bank`; returns the ids of the entries added (a reversed
        appeal disables exactly them)."""
        if not pairs:
            return []
        await self.ensure_takedown_bank()
        result = await self.banks.add_signals(LOCAL_TAKEDOWN_BANK, pairs, [label],
                                              AUTO_BANK_SOURCE)
        return [e.id for e in result.added]

    async def ensure_takedown_bank(self) -> None:
        names = {b.name for b, _, _ in await self.banks.list_banks()}
        if LOCAL_TAKEDOWN_BANK not in names:
            await self.banks.create_bank(LOCAL_TAKEDOWN_BANK,
                                         "signals of content removed on this server")

    async def ban_ground(self, channel_id: int) -> str:
        async with self.db.read() as conn:
            ground = await self.store.ban_ground(conn, channel_id)
        return ground or DEFAULT_BAN_NOTICE

    async def verify_audit(self) -> VerifyResult:
        async with self.db.read() as conn:
            chain = await self.store.audit_chain(conn)
        return verify_chain(chain)


#: What kind of content a signal type was computed from (the statement's content_type).
_KIND_OF_SIGNAL: Final = {"pdq": ContentKind.IMAGE, "url": ContentKind.LINK,
                          "text_exact": ContentKind.TEXT, "text_near": ContentKind.TEXT,
                          "text_quote": ContentKind.TEXT, "text_slogan": ContentKind.TEXT}


def content_kinds(decision: Decision) -> list[ContentKind]:
    """The kinds of content the decision was about, from its signals. File hashes
    (md5, sha256) come with every upload and say nothing of the kind: a file with only
    those (e.g. a video) is ``other``; no signals at all is text."""
    kinds = {_KIND_OF_SIGNAL[s.signal_type] for s in decision.signals
             if s.signal_type in _KIND_OF_SIGNAL}
    if not kinds:
        return [ContentKind.OTHER] if decision.signals else [ContentKind.TEXT]
    return sorted(kinds, key=list(ContentKind).index)


def decision_flags(decision: Decision) -> frozenset[str]:
    return decision.actor.flags if decision.actor else frozenset()

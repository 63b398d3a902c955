"""Stored rows -> the records ``moderation/transparency.py`` counts.

Three places hold measures: ``moderation_actions`` (what the rules applied
automatically, and staff removals through the admin API), review cases (a
moderator's decision on reports and holds), and removal orders (``removal_orders``,
TCO Art. 3). Each measure becomes one ``ActionRecord``; none is counted twice: a
retro-scan removal is also applied as a rule action, so only the rule action counts;
a staff removal or review decision that executed a removal order counts as the order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from tidings.moderation import labels as L
from tidings.moderation import review as rv
from tidings.moderation.actions import ActionKind
from tidings.moderation.reasons import GROUND_PRIORITY, OTHER_POLICY
from tidings.moderation.transparency import (
    ActionRecord,
    AppealRecord,
    DetectionChannel,
    NoticeRecord,
    OrderRecord,
)
from tidings.services.actions import AUTO_BANK_SOURCE, LOCAL_TAKEDOWN_BANK, SYSTEM_ACTOR
from tidings.services.cases import case_from_json
from tidings.services.retro_scan import RETRO_RULE_ACTOR
from tidings.services.takedowns import REMOVE_POST
from tidings.storage.transparency import (
    ActionRow,
    AuditRow,
    CaseFacts,
    EntryRow,
    OrderRow,
    ReportFacts,
)

#: Rule actions that restrict someone (auto_bank and allow_and_flag do not).
MEASURES: Final = (ActionKind.REJECT, ActionKind.HOLD, ActionKind.BAN_CHANNEL,
                   ActionKind.SUSPEND_ACCOUNT, ActionKind.STRIKE)
#: The action name a report uses for a removal after publication (review or staff).
REMOVE: Final = "remove"
RESTRICTIVE_DECISIONS: Final = (rv.Decision.REMOVE, rv.Decision.BAN_CHANNEL,
                                rv.Decision.SUSPEND_ACCOUNT)
CHANNEL_OF_SOURCE: Final = {
    rv.Source.LEGAL_ORDER: DetectionChannel.REMOVAL_ORDER,
    rv.Source.TRUSTED_FLAGGER: DetectionChannel.TRUSTED_FLAGGER,
    rv.Source.VERIFIED_PRIVATE_REPORT: DetectionChannel.VERIFIED_PRIVATE_REPORT,
    rv.Source.USER_REPORT: DetectionChannel.USER_REPORT,
    rv.Source.AUTOMATED_HOLD: DetectionChannel.HASH_MATCH,
}
NOTICE_CHANNEL: Final = {
    "user_report": DetectionChannel.USER_REPORT,
    "verified_private_report": DetectionChannel.VERIFIED_PRIVATE_REPORT,
    "trusted_flagger": DetectionChannel.TRUSTED_FLAGGER,
}


def top_label(labels: Iterable[str]) -> str:
    found = set(labels)
    return next((lab for lab in GROUND_PRIORITY if lab in found), OTHER_POLICY)


def _entry_ids(details: Mapping[str, object]) -> list[int]:
    raw = details.get("entry_ids")
    return [int(i) for i in raw if isinstance(i, int)] if isinstance(raw, list) else []


def entry_ids_by_key(audit: Sequence[AuditRow]) -> dict[str, list[int]]:
    """Idempotency key -> the bank entries an automated action was caused by."""
    out: dict[str, list[int]] = {}
    for row in audit:
        key = row.details.get("key")
        if row.actor == SYSTEM_ACTOR and isinstance(key, str):
            out[key] = _entry_ids(row.details)
    return out


def _bank_of(entries: Sequence[EntryRow], label: str) -> str | None:
    """The bank the gravest match came from (first by name on a tie)."""
    banks = sorted({e.bank for e in entries if label in e.labels} or {e.bank for e in entries})
    return banks[0] if banks else None


def rule_record(row: ActionRow, entries: Sequence[EntryRow]) -> ActionRecord:
    """An automated measure: detected and taken at once, by the rules."""
    label = top_label(lab for e in entries for lab in e.labels)
    bank = _bank_of(entries, label)
    source = DetectionChannel.HASH_MATCH if entries else DetectionChannel.AUTOMATED_RULE
    repost = row.kind == ActionKind.REJECT and any(
        e.bank == LOCAL_TAKEDOWN_BANK and e.source == AUTO_BANK_SOURCE for e in entries)
    return ActionRecord(row.kind, label, source, row.created_at, row.created_at, True, bank,
                        repost)


def staff_removal_record(row: ActionRow, audit: AuditRow | None) -> ActionRecord:
    """A removal through the admin API: a held post (automated detection, human
    decision) or a moderator's own initiative."""
    labels = audit.details.get("labels", []) if audit else []
    label = top_label(str(x) for x in labels) if isinstance(labels, list) else OTHER_POLICY
    held = audit is not None and audit.details.get("previous_state") == "held"
    source = DetectionChannel.HASH_MATCH if held else DetectionChannel.MODERATOR
    return ActionRecord(REMOVE, label, source, row.created_at, row.created_at, False)


def action_records(rows: Sequence[ActionRow], audit: Sequence[AuditRow],
                   entries: Mapping[int, EntryRow],
                   order_targets: frozenset[str] = frozenset()) -> list[ActionRecord]:
    """Records of ``moderation_actions`` rows. Staff removals of a target a removal
    order named (``order_targets``, ``post:ID``) are counted from the orders instead."""
    by_key = entry_ids_by_key(audit)
    removal_audit = {(a.target, a.actor): a for a in audit if a.action == REMOVE_POST}
    # One decision of the rules is every action with the same cause at the same time;
    # its matches explain all of them (a threshold's channel ban names no entries).
    decision_entries: dict[tuple[str, int], set[int]] = {}
    for row in rows:
        if row.actor == SYSTEM_ACTOR:
            decision_entries.setdefault((row.cause, row.created_at), set()).update(
                by_key.get(row.key, []))
    # A verdict is a measure of one publishing attempt: two attempts in the same
    # millisecond are still two (``attempt`` in the audit record, services/actions.py).
    attempt_of = {str(a.details["key"]): str(a.details.get("attempt", "")) for a in audit
                  if a.actor == SYSTEM_ACTOR and isinstance(a.details.get("key"), str)}
    seen: set[tuple[str, str, str, int, str]] = set()
    out: list[ActionRecord] = []
    for row in rows:
        if row.actor == SYSTEM_ACTOR and row.kind in MEASURES:
            measure = (row.kind, row.target, row.cause, row.created_at,
                       attempt_of.get(row.key, ""))
            if measure in seen:  # two rules asked for the same measure: one measure
                continue
            seen.add(measure)
            ids = decision_entries.get((row.cause, row.created_at), set())
            out.append(rule_record(row, [entries[i] for i in sorted(ids) if i in entries]))
        elif (row.kind == REMOVE_POST and row.actor != RETRO_RULE_ACTOR
              and row.target not in order_targets):
            out.append(staff_removal_record(row, removal_audit.get((row.target, row.actor))))
    return out


def _matches(case: CaseFacts) -> list[dict[str, object]]:
    raw = json.loads(case.matches) if case.matches else []
    return [m for m in raw if isinstance(m, dict)]


def decision_record(case: CaseFacts, decided: rv.Case) -> ActionRecord | None:
    """A moderator's restrictive decision on a case (None for no_violation/escalate,
    and for a quarantined bank entry's case: disabling an entry restricts nobody)."""
    if decided.decision not in RESTRICTIVE_DECISIONS or decided.decided_at_ms is None:
        return None
    if case.target_kind == "bank_entry":
        return None
    top = min(decided.sources, key=list(rv.Source).index)
    source = CHANNEL_OF_SOURCE[top]
    bank = None
    if source is DetectionChannel.HASH_MATCH:
        banks = sorted({str(m.get("bank")) for m in _matches(case) if m.get("bank")})
        bank = banks[0] if banks else None
        if bank is None:
            source = DetectionChannel.AUTOMATED_RULE
    action = REMOVE if decided.decision is rv.Decision.REMOVE else str(decided.decision)
    label = case.policy or (L.TERRORIST_CONTENT if decided.terrorist_content else OTHER_POLICY)
    return ActionRecord(action, label, source, decided.created_ms, decided.decided_at_ms,
                        False, bank)


def case_records(cases: Sequence[CaseFacts], order_cases: frozenset[str] = frozenset(),
                 ) -> tuple[list[ActionRecord], list[AppealRecord]]:
    """Decisions and appeals; a decision on a case a removal order opened
    (``order_cases``) is counted from the order."""
    actions: list[ActionRecord] = []
    appeals: list[AppealRecord] = []
    for case in cases:
        decided = case_from_json(case.record)
        record = decision_record(case, decided)
        if record is not None and case.id not in order_cases:
            actions.append(record)
        if decided.appealed_at_ms is not None:
            appeals.append(AppealRecord(
                decided.appealed_at_ms, decided.appeal_decided_at_ms,
                decided.appeal_decision is rv.AppealDecision.REVERSE))
    return actions, appeals


def notice_records(rows: Sequence[ReportFacts]) -> list[NoticeRecord]:
    out = []
    for row in rows:
        channel = NOTICE_CHANNEL.get(row.source)
        if channel is None:
            continue
        decided = case_from_json(row.case_record) if row.case_record else None
        actioned = decided is not None and decided.decision in RESTRICTIVE_DECISIONS
        out.append(NoticeRecord(row.created_at, channel, actioned))
    return out


#: The measure a completed removal order took, by the kind of target it named.
ORDER_ACTION: Final = {"post": REMOVE, "channel": "ban_channel", "account": "suspend_account"}


def order_target(row: OrderRow) -> str:
    return f"{row.target_kind}:{row.target_ref}"


def order_records(rows: Sequence[OrderRow]) -> tuple[list[OrderRecord], list[ActionRecord]]:
    """TCO Art. 7(2) figures of each order, and the measure of each completed one
    (decided by the authority, so not an automated decision; timed from receipt)."""
    orders = [OrderRecord(r.received_ms, r.completed_ms, r.cannot_comply_reason)
              for r in rows]
    actions = [ActionRecord(ORDER_ACTION.get(r.target_kind, REMOVE), r.label,
                            DetectionChannel.REMOVAL_ORDER, r.received_ms, r.completed_ms,
                            False)
               for r in rows if r.completed_ms is not None and r.cannot_comply_reason is None]
    return orders, actions

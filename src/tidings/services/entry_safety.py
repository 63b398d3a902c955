"""Partner-signal safety (issue 19): what keeps one bad bank entry from hurting many.

Three guards, each recorded:

* **Suppression** by allow lists (negative banks) happens in the matcher's caller
  (``ModerationService.match``); here each suppression is written to the audit chain.
* **Quarantine by match rate**: a partner bank's entry that matches more than
  ``items`` distinct items from at least ``uploaders`` distinct uploaders within
  ``window_ms`` is quarantined: an overlay on the live index (the matcher skips the
  id at once, every process within its bank poll; no rebuild), and a review case about
  the entry is opened. A real list entry matches copies of one thing; an entry that
  suddenly matches many *different* things from many people is far more likely a bad
  hash (a PDQ of a blank frame, a common logo) than a campaign. Own banks are never
  quarantined: a burst there is a campaign, and the operator's own moderators banked it.
* **"No violation" feedback**: a moderator deciding ``no_violation`` on a case opened by
  a bank match records the case against each matched entry; after ``false_matches``
  such cases the entry is quarantined pending review, with a case.

Staff end a quarantine by deciding the entry's case (``remove``: disable the entry;
``no_violation``: the entry is sound, restore it) or through the bank API/CLI. Deciding
the case starts the entry's window and feedback count again (the audit record keeps the
case ids), so a restored entry is not re-quarantined by the matches it was judged on.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Final

from tidings.moderation import review as rv
from tidings.moderation.engine import Decision
from tidings.moderation.rules import TRUST_OWN
from tidings.protocol import limits
from tidings.services.actions import SYSTEM_ACTOR, ActionService
from tidings.services.banks import BankService
from tidings.services.cases import open_or_join
from tidings.services.clock import Clock
from tidings.services.moderation import ModerationService
from tidings.storage.banks import EntryRecord
from tidings.storage.database import Database
from tidings.storage.entry_safety import EntrySafetyStore
from tidings.storage.reports import ReportStore

ENTRY_CASE_KIND: Final = "bank_entry"
"""Target kind of a review case about a quarantined bank entry."""
MATCH_RATE: Final = "match_rate"
FALSE_MATCHES: Final = "false_matches"


@dataclass(frozen=True, slots=True)
class SafetyPolicy:
    items: int = limits.QUARANTINE_ITEMS
    uploaders: int = limits.QUARANTINE_UPLOADERS
    window_ms: int = limits.QUARANTINE_WINDOW_S * 1000
    false_matches: int = limits.FALSE_MATCH_LIMIT


def item_key(decision: Decision, signal_type: str) -> str:
    """What matched, as one key: the content's signals of the matched type, so a post
    and the upload it carries count as one item, and a repost of the same bytes too."""
    values = sorted(s.value for s in decision.signals if s.signal_type == signal_type)
    return hashlib.sha256("\n".join(values).encode()).hexdigest()


class EntrySafety:
    def __init__(self, db: Database, store: EntrySafetyStore, banks: BankService,
                 moderation: ModerationService, actions: ActionService, reports: ReportStore,
                 clock: Clock, policy: SafetyPolicy = SafetyPolicy()) -> None:
        self.db = db
        self.store = store
        self.banks = banks
        self.moderation = moderation
        self.actions = actions
        self.reports = reports
        self.clock = clock
        self.policy = policy

    async def watch(self, decision: Decision) -> None:
        """After each publishing check: audit suppressions, count partner matches."""
        now = self.clock()
        partner = [m for m in decision.matches
                   if self.moderation.trust_of(m.bank) != TRUST_OWN]
        if not decision.suppressed and not (partner and self.policy.items > 0):
            return
        uploader = decision.actor.user_id if decision.actor is not None else None
        due: list[tuple[int, int, int]] = []
        async with self.db.write() as conn:
            for s in decision.suppressed:
                await self.actions.audit(
                    conn, SYSTEM_ACTOR, "suppress", f"negative:{s.by.bank}",
                    f"bank_entry:{s.match.entry_id}", surface=str(decision.surface),
                    bank=s.match.bank, negative_entry=s.by.entry_id,
                    negative_distance=s.by.distance, distance=s.match.distance)
            if partner and self.policy.items > 0:
                ids = sorted({m.entry_id for m in partner})
                await self.store.add_hits(conn, [(m.entry_id, item_key(decision, m.signal_type),
                                                  uploader) for m in partner], now)
                since = now - self.policy.window_ms
                await self.store.prune_hits(conn, ids, since)
                for entry_id in ids:
                    items, uploaders = await self.store.window(conn, entry_id, since)
                    if items > self.policy.items and uploaders >= self.policy.uploaders:
                        due.append((entry_id, items, uploaders))
        for entry_id, items, uploaders in due:
            await self.quarantine(entry_id, MATCH_RATE, {
                "items": items, "uploaders": uploaders,
                "window_s": self.policy.window_ms // 1000,
                "limit": self.policy.items})

    async def no_violation(self, case_id: str, matches: list[dict[str, Any]]) -> None:
        """A moderator found no violation on a case opened by these matches."""
        ids = sorted({int(m["entry_id"]) for m in matches if "entry_id" in m})
        if not ids:
            return
        now = self.clock()
        due: list[tuple[int, list[str]]] = []
        async with self.db.write() as conn:
            for entry_id in ids:
                await self.store.add_feedback(conn, entry_id, case_id, now)
                cases = await self.store.feedback(conn, entry_id)
                if self.policy.false_matches > 0 and len(cases) >= self.policy.false_matches:
                    due.append((entry_id, cases))
        for entry_id, cases in due:
            await self.quarantine(entry_id, FALSE_MATCHES, {
                "no_violation_cases": cases, "limit": self.policy.false_matches})

    async def quarantine(self, entry_id: int, reason: str, detail: dict[str, Any]
                         ) -> str | None:
        """Quarantine the entry and open a case about it; the case id (None if the
        entry was disabled or quarantined already)."""
        entry = await self.banks.quarantine(entry_id, reason)
        if entry is None:
            return None
        now = self.clock()
        async with self.db.write() as conn:
            case_id = await open_or_join(
                conn, self.reports, ENTRY_CASE_KIND, str(entry_id), None,
                rv.Source.AUTOMATED_HOLD, now,
                matches=[{"bank": entry.bank, "signal_type": entry.signal_type,
                          "entry_id": entry_id, "distance": 0, "labels": list(entry.labels),
                          "ground": f"quarantined: {reason}"}])
            await self.actions.audit(conn, SYSTEM_ACTOR, "quarantine", f"quarantine:{reason}",
                                     f"bank_entry:{entry_id}", bank=entry.bank,
                                     case_id=case_id, **detail)
        return case_id

    async def describe(self, entry_id: int) -> dict[str, Any]:
        """The entry as a moderator sees it in its case."""
        async with self.db.read() as conn:
            entry = await self.banks.store.entry(conn, entry_id)
            cases = await self.store.feedback(conn, entry_id)
            since = self.clock() - self.policy.window_ms
            items, uploaders = await self.store.window(conn, entry_id, since)
        if entry is None:
            return {"kind": ENTRY_CASE_KIND, "entry_id": entry_id, "missing": True}
        return {**entry_json(entry), "kind": ENTRY_CASE_KIND,
                "trust": self.moderation.trust_of(entry.bank),
                "window": {"items": items, "uploaders": uploaders,
                           "window_s": self.policy.window_ms // 1000},
                "no_violation_cases": cases}

    async def decide(self, entry_id: int, restore: bool, case_id: str, who: str
                     ) -> dict[str, Any]:
        """A moderator's decision on an entry's case: restore it, or disable it."""
        async with self.db.read() as conn:
            entry = await self.banks.store.entry(conn, entry_id)
        if entry is None:
            return {}
        if entry.quarantined_at is not None:
            entry = await self.banks.end_quarantine(entry.bank, entry_id, restore)
        else:  # lifted through the bank API meanwhile: the case still decides
            entry = await self.banks.set_entry(entry.bank, entry_id, enabled=restore)
        async with self.db.write() as conn:
            cases = await self.store.feedback(conn, entry_id)
            await self.store.forget(conn, entry_id)
            await self.actions.audit(conn, who, "restore" if restore else "disable",
                                     "quarantine:review", f"bank_entry:{entry_id}",
                                     bank=entry.bank, case_id=case_id,
                                     no_violation_cases=cases)
        return {"entry_id": entry_id, "enabled": entry.enabled}


def entry_json(e: EntryRecord) -> dict[str, Any]:
    """An entry in the API: its quarantine (when, why) with the rest."""
    return {"id": e.id, "bank": e.bank, "signal_type": e.signal_type, "value": e.value,
            "labels": list(e.labels), "source": e.source, "added_at": e.added_at,
            "enabled": e.enabled, "quarantined_at": e.quarantined_at,
            "quarantine_reason": e.quarantine_reason,
            "matching": e.enabled and e.quarantined_at is None}


def matches_of(row_matches: str | None) -> list[dict[str, Any]]:
    return list(json.loads(row_matches)) if row_matches else []

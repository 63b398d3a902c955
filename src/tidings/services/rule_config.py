"""The active rule set: which one, which version, and changing it.

Precedence: the newest rule set stored through the admin API, else
``<data>/rules.toml``, else the shipped defaults. Every stored rule set keeps its
version and content hash, so a decision can be traced to the exact rules that
took it (DSA Art. 17(3)(c)); changing the rules is itself an audited action.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from tidings.moderation.audit import AuditRecord
from tidings.moderation.rules import RuleError, RuleSet, default_rules_text, load_ruleset
from tidings.protocol.errors import BadRequest
from tidings.services.clock import Clock
from tidings.services.moderation import ModerationService
from tidings.storage.actions import ActionStore, RulesetRecord
from tidings.storage.database import Database

RULES_FILE: Final = "rules.toml"
MAX_RULES_TEXT_BYTES: Final = 1024 * 1024


class InvalidRules(BadRequest):
    default_code = "invalid_rules"


@dataclass(frozen=True, slots=True)
class ActiveRules:
    ruleset: RuleSet
    text: str
    source: str
    """``api``, ``file`` or ``default``."""


def parse(text: str) -> RuleSet:
    """Validate; a 400 naming the rule and the key on any error."""
    if len(text.encode()) > MAX_RULES_TEXT_BYTES:
        raise InvalidRules(f"rules over {MAX_RULES_TEXT_BYTES} bytes")
    try:
        return load_ruleset(text)
    except RuleError as exc:
        raise InvalidRules(str(exc), rule=exc.rule, key=exc.key) from exc


class RuleConfig:
    def __init__(self, db: Database, store: ActionStore, moderation: ModerationService,
                 data_dir: Path, clock: Clock) -> None:
        self.db = db
        self.store = store
        self.moderation = moderation
        self.data_dir = data_dir
        self.clock = clock
        self.active = ActiveRules(moderation.ruleset, default_rules_text(), "default")

    async def load(self) -> ActiveRules:
        """Pick the active rule set (see the module doc) and hand it to the gate."""
        async with self.db.read() as conn:
            stored = await self.store.latest_ruleset(conn)
        path = self.data_dir / RULES_FILE
        if stored is not None:
            active = ActiveRules(load_ruleset(stored.text), stored.text, "api")
        elif path.is_file():
            text = path.read_text("utf-8")
            active = ActiveRules(load_ruleset(text), text, "file")
        else:
            text = default_rules_text()
            active = ActiveRules(load_ruleset(text), text, "default")
        self._activate(active)
        return active

    async def refresh(self) -> bool:
        """Pick up a rule set another server process stored; True if it changed."""
        async with self.db.read() as conn:
            stored = await self.store.latest_ruleset(conn)
        if stored is None or stored.content_hash == self.active.ruleset.content_hash:
            return False
        self._activate(ActiveRules(load_ruleset(stored.text), stored.text, "api"))
        return True

    def _activate(self, active: ActiveRules) -> None:
        """A new engine snapshot with these rules, swapped in whole."""
        self.active = active
        self.moderation.swap(self.moderation.engine.with_rules(active.ruleset))

    async def put(self, text: str, who: str) -> ActiveRules:
        ruleset = parse(text)
        now = self.clock()
        async with self.db.write() as conn:
            await self.store.save_ruleset(conn, RulesetRecord(
                ruleset.version, ruleset.content_hash, text, who, now))
            await self.store.audit(conn, AuditRecord(
                who, "set_rules", "policy:rules", f"ruleset:{ruleset.version}", now,
                {"content_hash": ruleset.content_hash,
                 "previous_hash": self.active.ruleset.content_hash}))
        active = ActiveRules(ruleset, text, "api")
        self._activate(active)
        return active

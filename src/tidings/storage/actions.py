"""SQL for rules and actions: idempotency keys, strikes, flags, channel bans,
statements of reasons, rule-set versions and the audit chain (migration 0007).

Every method takes the caller's connection, so an action, its side effects and its
audit record commit or roll back together.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.moderation.audit import AuditRecord, ChainedRecord, append
from tidings.storage.action_schema import (
    audit_log,
    channel_bans,
    content_flags,
    moderation_actions,
    rulesets,
    statements_of_reasons,
    strikes,
)
from tidings.storage.channel_schema import channels

#: Key of the PostgreSQL advisory lock that serialises audit appends.
AUDIT_LOCK_KEY: Final = 0x7D1D_A0D1


def _insert(conn: AsyncConnection, table: sa.Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


@dataclass(frozen=True, slots=True)
class RulesetRecord:
    version: int
    content_hash: str
    text: str
    created_by: str
    created_at: int


class ActionStore:
    async def claim(self, conn: AsyncConnection, key: str, **values: Any) -> bool:
        """Record an idempotency key; False when it was applied before."""
        stmt = _insert(conn, moderation_actions).values(idempotency_key=key, **values)
        result = await conn.execute(stmt.on_conflict_do_nothing(
            index_elements=["idempotency_key"]))
        return bool(result.rowcount)

    async def add_strike(self, conn: AsyncConnection, user_id: int, weight: int, rule: str,
                         cause: str, now: int, expires_at: int) -> None:
        await conn.execute(strikes.insert().values(
            user_id=user_id, weight=weight, rule=rule, cause=cause[:160], created_at=now,
            expires_at=expires_at))

    async def remove_strikes(self, conn: AsyncConnection, user_id: int, rule: str,
                             cause: str) -> int:
        """Withdraw the strikes a rule gave this user for this content (its cause); a
        reversed appeal undoes what the removal caused. Returns how many rows went."""
        result = await conn.execute(strikes.delete().where(
            strikes.c.user_id == user_id, strikes.c.rule == rule, strikes.c.cause == cause))
        return int(result.rowcount or 0)

    async def active_strikes(self, conn: AsyncConnection, user_id: int, now: int) -> int:
        total = (await conn.execute(sa.select(sa.func.coalesce(sa.func.sum(strikes.c.weight), 0))
                                    .where(strikes.c.user_id == user_id,
                                           strikes.c.expires_at > now))).scalar_one()
        return int(total)

    async def strikes_of(self, conn: AsyncConnection, user_id: int, limit: int
                         ) -> list[dict[str, Any]]:
        """The user's strikes, newest first, expired ones included (history)."""
        rows = await conn.execute(sa.select(strikes.c.weight, strikes.c.rule, strikes.c.cause,
                                            strikes.c.created_at, strikes.c.expires_at)
                                  .where(strikes.c.user_id == user_id)
                                  .order_by(strikes.c.created_at.desc(), strikes.c.id.desc())
                                  .limit(limit))
        return [dict(r._mapping) for r in rows]

    async def bans_of_owner(self, conn: AsyncConnection, owner_id: int, limit: int
                            ) -> list[dict[str, Any]]:
        """The owner's channels taken down, newest first: banned by the rules or an order
        (``channel_bans``, with the ground) or by a moderator's decision (state
        ``removed``, whose ground is the case's)."""
        rows = await conn.execute(
            sa.select(channels.c.handle, channels.c.state, channel_bans.c.ground,
                      channel_bans.c.created_at)
            .select_from(channels.outerjoin(channel_bans,
                                            channel_bans.c.channel_id == channels.c.id))
            .where(channels.c.owner_id == owner_id,
                   channels.c.state.in_(("banned", "removed")))
            .order_by(channels.c.id.desc()).limit(limit))
        return [dict(r._mapping) for r in rows]

    async def add_flag(self, conn: AsyncConnection, target: str, rule: str, now: int) -> None:
        await conn.execute(content_flags.insert().values(target=target, rule=rule,
                                                         created_at=now))

    async def flags(self, conn: AsyncConnection, target: str) -> list[str]:
        rows = await conn.execute(sa.select(content_flags.c.rule)
                                  .where(content_flags.c.target == target))
        return [r[0] for r in rows]

    async def ban_channel(self, conn: AsyncConnection, channel_id: int, owner_id: int,
                          ground: str, rule: str, now: int) -> bool:
        stmt = _insert(conn, channel_bans).values(
            channel_id=channel_id, owner_id=owner_id, ground=ground[:200], rule=rule,
            created_at=now)
        result = await conn.execute(stmt.on_conflict_do_nothing(index_elements=["channel_id"]))
        await conn.execute(channels.update().where(channels.c.id == channel_id)
                           .values(state="banned"))
        return bool(result.rowcount)

    async def ban_ground(self, conn: AsyncConnection, channel_id: int) -> str | None:
        row = (await conn.execute(sa.select(channel_bans.c.ground)
                                  .where(channel_bans.c.channel_id == channel_id))).first()
        return None if row is None else str(row[0])

    async def prior_owner_bans(self, conn: AsyncConnection, owner_id: int) -> int:
        count = (await conn.execute(sa.select(sa.func.count()).select_from(channel_bans)
                                    .where(channel_bans.c.owner_id == owner_id))).scalar_one()
        return int(count)

    async def banned_handles(self, conn: AsyncConnection) -> list[str]:
        rows = await conn.execute(sa.select(channels.c.handle).join(
            channel_bans, channel_bans.c.channel_id == channels.c.id))
        return [r[0] for r in rows]

    async def add_statement(self, conn: AsyncConnection, target: str, user_id: int | None,
                            body: dict[str, Any], now: int) -> int:
        row = (await conn.execute(statements_of_reasons.insert().values(
            target=target, user_id=user_id, body=json.dumps(body, sort_keys=True),
            created_at=now).returning(statements_of_reasons.c.id))).one()
        return int(row[0])

    async def statements(self, conn: AsyncConnection, target: str) -> list[dict[str, Any]]:
        rows = await conn.execute(sa.select(statements_of_reasons.c.body)
                                  .where(statements_of_reasons.c.target == target)
                                  .order_by(statements_of_reasons.c.id))
        return [json.loads(r[0]) for r in rows]

    # --- rule sets -----------------------------------------------------------------
    async def latest_ruleset(self, conn: AsyncConnection) -> RulesetRecord | None:
        row = (await conn.execute(sa.select(rulesets.c.version, rulesets.c.content_hash,
                                            rulesets.c.text, rulesets.c.created_by,
                                            rulesets.c.created_at)
                                  .order_by(rulesets.c.id.desc()).limit(1))).first()
        return None if row is None else RulesetRecord(*row)

    async def save_ruleset(self, conn: AsyncConnection, record: RulesetRecord) -> None:
        await conn.execute(rulesets.insert().values(
            version=record.version, content_hash=record.content_hash, text=record.text,
            created_by=record.created_by, created_at=record.created_at))

    # --- audit ---------------------------------------------------------------------
    async def audit(self, conn: AsyncConnection, record: AuditRecord) -> ChainedRecord:
        """Append one record after the current head, inside the caller's transaction."""
        if conn.dialect.name == "postgresql":
            await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"),
                               {"k": AUDIT_LOCK_KEY})
        row = (await conn.execute(sa.select(sa.func.count(), sa.func.max(audit_log.c.id))
                                  .select_from(audit_log))).one()
        count, last_id = int(row[0]), row[1]
        prev: list[ChainedRecord] = []
        if last_id is not None:
            head = (await conn.execute(sa.select(audit_log.c.hash)
                                       .where(audit_log.c.id == last_id))).scalar_one()
            prev = [ChainedRecord(count - 1, record, "", str(head))]
        link = append(prev, record)
        link = ChainedRecord(count, record, link.prev_hash, link.record_hash)
        await conn.execute(audit_log.insert().values(
            actor=record.actor, action=record.action, rule=record.rule, target=record.target,
            time_ms=record.time_ms, details=json.dumps(dict(record.details), sort_keys=True),
            prev_hash=link.prev_hash, hash=link.record_hash))
        return link

    async def audit_chain(self, conn: AsyncConnection) -> list[ChainedRecord]:
        rows = await conn.execute(sa.select(
            audit_log.c.actor, audit_log.c.action, audit_log.c.rule, audit_log.c.target,
            audit_log.c.time_ms, audit_log.c.details, audit_log.c.prev_hash, audit_log.c.hash)
            .order_by(audit_log.c.id))
        out: list[ChainedRecord] = []
        for i, r in enumerate(rows):
            record = AuditRecord(r[0], r[1], r[2], r[3], int(r[4]), json.loads(r[5]))
            out.append(ChainedRecord(i, record, r[6], r[7]))
        return out

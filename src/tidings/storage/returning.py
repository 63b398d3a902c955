"""Fingerprints of banned channels and holds of channels that resemble them.

Every method runs in the caller's connection, so a service composes one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.moderation.resemblance import Fingerprint
from tidings.storage.channel_schema import channel_posts as cp
from tidings.storage.channel_schema import channels as ch
from tidings.storage.returning_schema import channel_fingerprints as fp
from tidings.storage.returning_schema import returning_holds as rh

HELD = "held"
RELEASED = "released"
BANNED = "banned"


@dataclass(frozen=True, slots=True)
class HoldRecord:
    id: int
    channel_id: int
    banned_channel_id: int
    banned_label: str
    score: int
    signals: list[dict[str, Any]]
    pending: dict[str, Any] | None
    post_id: int | None
    case_id: str | None
    state: str
    decision_label: str | None
    created_at: int
    decided_at: int | None


def _hold(row: Any) -> HoldRecord:
    return HoldRecord(row.id, row.channel_id, row.banned_channel_id, row.banned_label,
                      row.score, json.loads(row.signals),
                      json.loads(row.pending) if row.pending else None, row.post_id,
                      row.case_id, row.state, row.decision_label, row.created_at,
                      row.decided_at)


def _fingerprint(row: Any) -> Fingerprint:
    return Fingerprint(row.channel_id, row.handle, row.title, row.description,
                       tuple(json.loads(row.avatar_pdq)), tuple(json.loads(row.media_pdq)),
                       tuple(json.loads(row.invite_tokens)), row.label,
                       tuple(json.loads(row.domains)))


class ReturningStore:
    async def save_fingerprint(self, conn: AsyncConnection, f: Fingerprint, cause: str,
                               now: int) -> bool:
        """Store the fingerprint of a banned channel once (the first ban's ground)."""
        insert = (postgresql.insert(fp) if conn.dialect.name == "postgresql"
                  else sqlite.insert(fp))
        result = await conn.execute(insert.values(
            channel_id=f.channel_id, label=f.label[:64], cause=cause[:32],
            handle=f.handle[:64], title=f.title[:256], description=f.description,
            avatar_pdq=json.dumps(list(f.avatar_pdq)), media_pdq=json.dumps(list(f.media_pdq)),
            invite_tokens=json.dumps(list(f.invite_tokens)),
            domains=json.dumps(list(f.domains)), created_at=now,
        ).on_conflict_do_nothing(index_elements=["channel_id"]))
        return bool(result.rowcount)

    async def fingerprints(self, conn: AsyncConnection) -> list[Fingerprint]:
        rows = await conn.execute(sa.select(fp).order_by(fp.c.channel_id))
        return [_fingerprint(r) for r in rows]

    async def shared_domains(self, conn: AsyncConnection, domains: Sequence[str],
                             channel_id: int) -> set[str]:
        """Which of ``domains`` appear in a visible post of another visible channel (a
        plain substring test on the lower-cased text: a near miss counts as shared, so
        a domain is kept as the channel's own only when nobody else wrote it)."""
        shared: set[str] = set()
        for domain in domains:
            row = (await conn.execute(
                sa.select(cp.c.id).select_from(cp.join(ch, ch.c.id == cp.c.channel_id))
                .where((cp.c.channel_id != channel_id) & (cp.c.state == "visible")
                       & cp.c.deleted_at.is_(None) & (ch.c.state == "visible")
                       & sa.func.lower(cp.c.text).contains(domain, autoescape=True))
                .limit(1))).first()
            if row is not None:
                shared.add(domain)
        return shared

    async def fingerprint(self, conn: AsyncConnection, channel_id: int) -> Fingerprint | None:
        row = (await conn.execute(sa.select(fp).where(fp.c.channel_id == channel_id))).first()
        return None if row is None else _fingerprint(row)

    async def add_hold(self, conn: AsyncConnection, *, channel_id: int, banned_channel_id: int,
                       banned_label: str, score: int, signals: list[dict[str, Any]],
                       pending: dict[str, Any] | None, post_id: int | None, now: int) -> int:
        result = await conn.execute(rh.insert().values(
            channel_id=channel_id, banned_channel_id=banned_channel_id,
            banned_label=banned_label[:64], score=score, signals=json.dumps(signals),
            pending=json.dumps(pending) if pending else None, post_id=post_id,
            state=HELD, created_at=now))
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    async def set_case(self, conn: AsyncConnection, hold_id: int, case_id: str) -> None:
        await conn.execute(rh.update().where(rh.c.id == hold_id).values(case_id=case_id))

    async def open_holds(self, conn: AsyncConnection, channel_id: int) -> list[HoldRecord]:
        rows = await conn.execute(sa.select(rh).where(
            (rh.c.channel_id == channel_id) & (rh.c.state == HELD)).order_by(rh.c.id))
        return [_hold(r) for r in rows]

    async def holds_of_case(self, conn: AsyncConnection, case_id: str) -> list[HoldRecord]:
        rows = await conn.execute(sa.select(rh).where(rh.c.case_id == case_id)
                                  .order_by(rh.c.id))
        return [_hold(r) for r in rows]

    async def decide(self, conn: AsyncConnection, hold_id: int, state: str,
                     label: str | None, now: int) -> None:
        await conn.execute(rh.update().where(rh.c.id == hold_id).values(
            state=state, decision_label=label, decided_at=now))

    async def holds_between(self, conn: AsyncConnection, since: int, until: int
                            ) -> list[HoldRecord]:
        """Holds opened, or decided, in ``[since, until)`` (transparency report)."""
        rows = await conn.execute(sa.select(rh).where(
            ((rh.c.created_at >= since) & (rh.c.created_at < until))
            | ((rh.c.decided_at >= since) & (rh.c.decided_at < until))).order_by(rh.c.id))
        return [_hold(r) for r in rows]

"""Send idempotency: (sender device, client_id) -> (message id, server ts).

This is all the server remembers about a private message once its envelopes are
acknowledged, and only for ``MESSAGE_DEDUP_RETENTION_MS``: enough to answer a retried
send with the same id and ts instead of delivering it twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.storage.plan import Plan, Raw
from tidings.storage.schema import sent_messages


class _SentRow(Protocol):
    @property
    def device_id(self) -> str: ...
    @property
    def client_id(self) -> str: ...
    @property
    def message_id(self) -> str: ...
    @property
    def ts(self) -> int: ...


class SentStore:
    async def lookup(self, conn: AsyncConnection, device_id: str,
                     client_id: str) -> tuple[str, int] | None:
        row = (await conn.execute(
            sa.select(sent_messages.c.message_id, sent_messages.c.ts)
            .where(sent_messages.c.device_id == device_id,
                   sent_messages.c.client_id == client_id))).first()
        return (str(row[0]), int(row[1])) if row else None

    def lookup_many_plan(self, keys: Sequence[tuple[str, str]], dialect: str = ""
                         ) -> Plan[dict[tuple[str, str], tuple[str, int]]]:
        """Answers already given for any of these (device, client_id) keys."""
        wanted = set(keys)
        if not wanted:
            return {}
        if dialect == "sqlite":  # one prepared primary-key lookup per key (storage/plan.py)
            known: dict[tuple[str, str], tuple[str, int]] = {}
            for key in wanted:
                hit = yield Raw(_SQLITE_LOOKUP, key)
                if hit:
                    known[key] = (str(hit[0][0]), int(hit[0][1]))
            return known
        rows = yield (
            sa.select(sent_messages.c.device_id, sent_messages.c.client_id,
                      sent_messages.c.message_id, sent_messages.c.ts)
            .where(sent_messages.c.device_id.in_({d for d, _ in wanted}),
                   sent_messages.c.client_id.in_({c for _, c in wanted})))
        found = {(str(r[0]), str(r[1])): (str(r[2]), int(r[3])) for r in rows}
        return {k: v for k, v in found.items() if k in wanted}

    def insert_many_plan(self, rows: Sequence[_SentRow], dialect: str = "") -> Plan[None]:
        if rows and dialect == "sqlite":
            yield Raw(_SQLITE_INSERT, [(r.device_id, r.client_id, r.message_id, r.ts)
                                       for r in rows], many=True)
        elif rows:
            yield (sent_messages.insert(), [
                {"device_id": r.device_id, "client_id": r.client_id,
                 "message_id": r.message_id, "ts": r.ts} for r in rows])

    async def insert(self, conn: AsyncConnection, device_id: str, client_id: str,
                     message_id: str, ts: int) -> None:
        await conn.execute(sent_messages.insert().values(
            device_id=device_id, client_id=client_id, message_id=message_id, ts=ts))

    def prune_plan(self, before: int) -> Plan[int]:
        result = yield sent_messages.delete().where(sent_messages.c.ts < before)
        return int(result.rowcount or 0)

    async def count(self, conn: AsyncConnection) -> int:
        result = await conn.execute(sa.select(sa.func.count()).select_from(sent_messages))
        return int(result.scalar_one())


_SQLITE_LOOKUP = "SELECT message_id, ts FROM sent_messages WHERE device_id = ? AND client_id = ?"
_SQLITE_INSERT = ("INSERT INTO sent_messages (device_id, client_id, message_id, ts) "
                  "VALUES (?, ?, ?, ?)")

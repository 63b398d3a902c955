"""The key directory's tables. Every method runs inside a transaction the caller owns.

Records are stored as the JSON the device signed, so the server hands out exactly the
bytes whose signature clients verify; the columns beside them exist for lookups.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.storage.plan import Plan
from tidings.storage.privacy_schema import key_claims
from tidings.storage.schema import device_keys, devices, fallback_keys, one_time_keys


class KeyDirectoryStore:
    async def device_keys(self, conn: AsyncConnection, device_id: str) -> str | None:
        """The stored signed record of a device, or None if it uploaded none."""
        result = await conn.execute(sa.select(device_keys.c.record)
                                    .where(device_keys.c.device_id == device_id))
        value = result.scalar_one_or_none()
        return str(value) if value is not None else None

    async def put_device_keys(self, conn: AsyncConnection, device_id: str, user_id: int,
                              curve25519: str, ed25519: str, record: str, now: int) -> None:
        await conn.execute(device_keys.insert().values(
            device_id=device_id, user_id=user_id, curve25519=curve25519, ed25519=ed25519,
            record=record, created_at=now))

    async def records_of_users(self, conn: AsyncConnection, user_ids: Sequence[int]
                               ) -> list[tuple[int, str, str]]:
        """``(user_id, device_id, record)`` for every keyed device of these users."""
        if not user_ids:
            return []
        rows = await conn.execute(
            sa.select(device_keys.c.user_id, device_keys.c.device_id, device_keys.c.record)
            .select_from(device_keys.join(devices, devices.c.id == device_keys.c.device_id))
            .where(device_keys.c.user_id.in_(list(user_ids)))
            .order_by(device_keys.c.user_id, device_keys.c.device_id))
        return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]

    async def curve_keys(self, conn: AsyncConnection, user_ids: Sequence[int]
                         ) -> dict[str, tuple[int, str]]:
        """``device_id -> (user_id, curve25519)`` for every keyed device of these users."""
        rows = await conn.execute(
            sa.select(device_keys.c.device_id, device_keys.c.user_id, device_keys.c.curve25519)
            .where(device_keys.c.user_id.in_(list(user_ids))))
        return {str(r[0]): (int(r[1]), str(r[2])) for r in rows}

    def curve_keys_plan(self, user_ids: Sequence[int]) -> Plan[dict[str, tuple[int, str]]]:
        """:meth:`curve_keys` as a plan (``storage/plan.py``), for ``Database.read_plan``."""
        rows = yield (sa.select(device_keys.c.device_id, device_keys.c.user_id,
                                device_keys.c.curve25519)
                      .where(device_keys.c.user_id.in_(list(user_ids))))
        return {str(r[0]): (int(r[1]), str(r[2])) for r in rows}

    async def one_time_key_ids(self, conn: AsyncConnection, device_id: str,
                               key_ids: Sequence[str]) -> set[str]:
        if not key_ids:
            return set()
        rows = await conn.execute(sa.select(one_time_keys.c.key_id).where(
            one_time_keys.c.device_id == device_id, one_time_keys.c.key_id.in_(list(key_ids))))
        return {str(r[0]) for r in rows}

    async def add_one_time_keys(self, conn: AsyncConnection, device_id: str,
                                keys: Sequence[tuple[str, str]], now: int) -> None:
        if keys:
            await conn.execute(one_time_keys.insert(), [
                {"device_id": device_id, "key_id": kid, "record": record, "created_at": now}
                for kid, record in keys])

    async def count_one_time_keys(self, conn: AsyncConnection, device_id: str) -> int:
        result = await conn.execute(sa.select(sa.func.count()).select_from(one_time_keys)
                                    .where(one_time_keys.c.device_id == device_id))
        return int(result.scalar_one())

    async def claim_one_time_key(self, conn: AsyncConnection, device_id: str) -> str | None:
        """Take (delete and return) one unused one-time key of a device, or None.

        One statement: ``DELETE ... WHERE id = (SELECT id ... FOR UPDATE SKIP LOCKED
        LIMIT 1) RETURNING record``. On PostgreSQL concurrent claimers skip rows another
        transaction has locked, so no key is handed out twice and nobody waits; a
        claimer whose row was taken gets nothing deleted rather than a duplicate. On
        SQLite ``FOR UPDATE`` is not rendered; claims run inside the serialised write
        transaction (BEGIN IMMEDIATE under the process write lock), which is stronger.
        """
        oldest = (sa.select(one_time_keys.c.id)
                  .where(one_time_keys.c.device_id == device_id)
                  .order_by(one_time_keys.c.id).limit(1)
                  .with_for_update(skip_locked=True).scalar_subquery())
        result = await conn.execute(one_time_keys.delete().where(one_time_keys.c.id == oldest)
                                    .returning(one_time_keys.c.record))
        value = result.scalar_one_or_none()
        return str(value) if value is not None else None

    async def put_fallback(self, conn: AsyncConnection, device_id: str, key_id: str,
                           record: str, now: int) -> None:
        await conn.execute(fallback_keys.delete().where(fallback_keys.c.device_id == device_id))
        await conn.execute(fallback_keys.insert().values(
            device_id=device_id, key_id=key_id, record=record, created_at=now))

    async def fallback(self, conn: AsyncConnection, device_id: str) -> str | None:
        result = await conn.execute(sa.select(fallback_keys.c.record)
                                    .where(fallback_keys.c.device_id == device_id))
        value = result.scalar_one_or_none()
        return str(value) if value is not None else None

    # -- the claim log (limits per claimer and per device; services/keys.py) ---------
    async def fresh_claims(self, conn: AsyncConnection, device_id: str, since: int,
                           claimer_id: int | None = None) -> int:
        """Fresh one-time keys taken of a device since ``since`` (by one claimer, or all)."""
        query = sa.select(sa.func.count()).select_from(key_claims).where(
            key_claims.c.device_id == device_id, key_claims.c.claimed_at >= since)
        if claimer_id is not None:
            query = query.where(key_claims.c.claimer_id == claimer_id)
        return int((await conn.execute(query)).scalar_one())

    async def lock_device(self, conn: AsyncConnection, device_id: str) -> None:
        """Serialise claims of one device so the claim limits hold under concurrency
        (PostgreSQL ``FOR UPDATE``; SQLite's write transaction is serial already)."""
        await conn.execute(sa.select(devices.c.id).where(devices.c.id == device_id)
                           .with_for_update())

    async def log_claim(self, conn: AsyncConnection, claimer_id: int, device_id: str,
                        now: int) -> None:
        await conn.execute(key_claims.insert().values(claimer_id=claimer_id,
                                                      device_id=device_id, claimed_at=now))

    async def prune_claims(self, conn: AsyncConnection, before: int) -> int:
        result = await conn.execute(key_claims.delete().where(key_claims.c.claimed_at < before))
        return int(result.rowcount or 0)

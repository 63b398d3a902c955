"""ActionStore on SQLite and PostgreSQL: unique idempotency keys, strikes that
expire, channel bans, and an audit chain that verifies and catches edits."""

from __future__ import annotations

import sqlalchemy as sa

from tidings.moderation.audit import AuditRecord, Problem, verify_chain
from tidings.storage.actions import ActionStore
from tidings.storage.database import Database
from tidings.storage.schema import users

DAY_MS = 86_400_000


async def _user(db: Database) -> int:
    async with db.write() as conn:
        row = (await conn.execute(users.insert().values(
            username="alice", password_hash="x", role="user", created_at=0)
            .returning(users.c.id))).one()
    return int(row[0])


async def test_keys_strikes_and_audit(database: Database) -> None:
    store = ActionStore()
    user_id = await _user(database)
    values = {"kind": "strike", "rule": "r", "ruleset_version": 1,
              "target": f"account:{user_id}", "cause": "c", "actor": "system",
              "created_at": 0}
    async with database.write() as conn:
        assert await store.claim(conn, "k" * 64, **values)
        assert not await store.claim(conn, "k" * 64, **values)
        await store.add_strike(conn, user_id, 2, "r", "c", 0, DAY_MS)
        await store.add_strike(conn, user_id, 1, "r", "c2", 0, 10 * DAY_MS)
        for i in range(3):
            await store.audit(conn, AuditRecord("system", "strike", "r", f"t{i}", i,
                                                {"n": i}))
    async with database.read() as conn:
        assert await store.active_strikes(conn, user_id, DAY_MS // 2) == 3
        assert await store.active_strikes(conn, user_id, 2 * DAY_MS) == 1
        chain = await store.audit_chain(conn)
    assert len(chain) == 3 and verify_chain(chain).ok
    async with database.write() as conn:
        await conn.execute(sa.text("UPDATE audit_log SET details = '{\"n\": 9}' "
                                   "WHERE target = 't1'"))
    async with database.read() as conn:
        result = verify_chain(await store.audit_chain(conn))
    assert not result.ok and result.first_bad_index == 1 and result.problem is Problem.CHANGED

"""Migration 0013 (an order's legal scope and confirmation) matches order_schema.py on
both engines, keeps the orders received before it as TCO orders, and reverts."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from tidings.storage import migrate
from tidings.storage.database import Database
from tidings.storage.order_schema import removal_orders
from tidings.storage.schema import users

NEW_COLUMNS = {"basis", "category", "territorial_scope", "needs_confirmation",
               "confirmed_ms", "confirmed_by"}


async def _columns(db: Database) -> set[str]:
    def read(conn: Connection) -> set[str]:
        return {c["name"] for c in inspect(conn).get_columns("removal_orders")}

    async with db.engine.connect() as conn:
        return await conn.run_sync(read)


async def _migrate(db: Database, revision: str) -> None:
    def run(conn: Connection) -> None:
        cfg = migrate._config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)

    async with db.engine.begin() as conn:
        await conn.run_sync(run)


async def test_0013_matches_schema_keeps_old_orders_and_reverts(database: Database) -> None:
    assert await _columns(database) == {c.name for c in removal_orders.columns}
    await _migrate(database, "0012")
    assert not NEW_COLUMNS & await _columns(database)
    async with database.write() as conn:  # an order received before 0013
        uid = (await conn.execute(sa.insert(users).values(
            username="bka", role="authority", created_at=1).returning(users.c.id))).scalar_one()
        await conn.execute(sa.text(
            "INSERT INTO removal_orders (id, authority_user_id, authority_name, member_state, "
            "reference, target_kind, target_ref, legal_basis, reasons, label, status, "
            "received_ms) VALUES ('ro_old', :uid, 'BKA', 'DE', 'R-1', 'post', '1', 'Art. 3', "
            "'r', 'category:terrorist_content', 'completed', 1)"), {"uid": uid})
    await migrate.upgrade(database)
    async with database.read() as conn:
        row = (await conn.execute(sa.select(
            removal_orders.c.basis, removal_orders.c.needs_confirmation,
            removal_orders.c.territorial_scope))).one()
    assert tuple(row) == ("tco_art3", False, None)
    assert await _columns(database) >= NEW_COLUMNS

"""Migration 0009 (orders, authorities, preservation) matches order_schema.py on both
engines, and the contract's unique (authority, reference) holds."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Connection

from tests.storage.migration_util import tables as _tables
from tidings.storage import migrate
from tidings.storage.database import Database
from tidings.storage.order_schema import removal_orders
from tidings.storage.schema import metadata, users

NEW_TABLES = {"authorities", "removal_orders", "preservations", "preserved_blobs"}


async def test_0009_matches_schema_and_reverts(database: Database) -> None:
    assert int(migrate.head_revision()) >= 9  # later revisions stack on it
    tables = await _tables(database)
    for name in NEW_TABLES:
        assert tables[name] == {c.name for c in metadata.tables[name].columns}, name

    def down(conn: Connection) -> None:
        cfg = migrate._config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0008")

    async with database.engine.begin() as conn:
        await conn.run_sync(down)
    assert not NEW_TABLES & set(await _tables(database))
    await migrate.upgrade(database)
    assert set(await _tables(database)) >= NEW_TABLES


async def test_reference_unique_per_authority(database: Database) -> None:
    row = {"authority_name": "BKA", "member_state": "DE", "target_kind": "post",
           "target_ref": "1", "legal_basis": "Art. 3", "reasons": "r",
           "label": "category:terrorist_content", "status": "open", "received_ms": 1}
    async with database.write() as conn:
        uid = (await conn.execute(sa.insert(users).values(
            username="bka", role="authority", created_at=1).returning(users.c.id))).scalar_one()
        await conn.execute(sa.insert(removal_orders).values(
            id="ro_a", authority_user_id=uid, reference="R-1", **row))
    with pytest.raises(sa.exc.IntegrityError):
        async with database.write() as conn:
            await conn.execute(sa.insert(removal_orders).values(
                id="ro_b", authority_user_id=uid, reference="R-1", **row))

"""Migration 0020 (bank entries name the banked item they were taken from) matches
schema.py on both engines, keeps rows, and reverts."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from tests.storage.migration_util import migrate_to
from tidings.storage import migrate
from tidings.storage.database import Database
from tidings.storage.schema import bank_entries, banks, metadata


async def _columns(db: Database) -> set[str]:
    def read(conn: Connection) -> set[str]:
        return {c["name"] for c in inspect(conn).get_columns("bank_entries")}

    async with db.engine.connect() as conn:
        return await conn.run_sync(read)


async def test_0020_matches_schema_and_reverts(database: Database) -> None:
    assert await _columns(database) == {c.name for c in metadata.tables["bank_entries"].columns}
    async with database.write() as conn:
        await conn.execute(sa.insert(banks).values(name="BANK_M", created_at=1))
        await conn.execute(sa.insert(bank_entries).values(
            bank="BANK_M", signal_type="md5", value="0" * 32, value_key="k", labels="[]",
            added_at=1, content_id=7))

    await migrate_to(database, "0017", down=True)
    assert "content_id" not in await _columns(database)
    await migrate.upgrade(database)
    async with database.read() as conn:
        row = (await conn.execute(sa.select(bank_entries.c.value,
                                            bank_entries.c.content_id))).one()
    assert row == ("0" * 32, None)

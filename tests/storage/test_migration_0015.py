"""Migration 0015 (content type of byte hashes; exchange schedule and status) matches
schema.py on both engines, keeps rows, and reverts."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from tidings.storage import migrate
from tidings.storage.database import Database
from tidings.storage.schema import bank_exchanges, banks, metadata

NEW = {"bank_entries": {"content_type"},
       "bank_exchanges": {"interval_s", "next_run_at", "failures", "status"}}


async def _columns(db: Database) -> dict[str, set[str]]:
    def read(conn: Connection) -> dict[str, set[str]]:
        insp = inspect(conn)
        return {t: {c["name"] for c in insp.get_columns(t)} for t in NEW}

    async with db.engine.connect() as conn:
        return await conn.run_sync(read)


async def test_0015_matches_schema_and_reverts(database: Database) -> None:
    assert int(migrate.head_revision()) >= 11
    for table, cols in (await _columns(database)).items():
        assert cols == {c.name for c in metadata.tables[table].columns}, table
    async with database.write() as conn:
        await conn.execute(sa.insert(banks).values(name="BANK_M", created_at=1))
        await conn.execute(sa.insert(bank_exchanges).values(
            name="x", exchange_type="tat", bank="BANK_M"))

    def down(conn: Connection) -> None:
        cfg = migrate._config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0014")

    async with database.engine.begin() as conn:
        await conn.run_sync(down)
    for table, cols in (await _columns(database)).items():
        assert not cols & NEW[table], table
    await migrate.upgrade(database)
    async with database.read() as conn:
        row = (await conn.execute(sa.select(bank_exchanges.c.failures,
                                            bank_exchanges.c.status))).one()
    assert (row[0], row[1]) == (0, "{}")

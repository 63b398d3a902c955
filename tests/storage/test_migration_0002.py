"""Migration 0002 applies, reverts and re-applies cleanly, and matches schema.py."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy.engine import Connection

from tests.storage.migration_util import tables as _tables
from tidings.storage import migrate
from tidings.storage.database import Database, sqlite_url_for
from tidings.storage.schema import metadata

NEW_TABLES = {"device_keys", "one_time_keys", "fallback_keys", "sent_messages"}


async def test_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    db = Database(sqlite_url_for(str(tmp_path / "m.db")))
    try:
        assert await migrate.upgrade(db) == migrate.head_revision()
        tables = await _tables(db)
        for name in NEW_TABLES:
            assert tables[name] == {c.name for c in metadata.tables[name].columns}, name

        def down(conn: Connection) -> None:
            cfg = migrate._config()
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0001")

        async with db.engine.begin() as conn:
            await conn.run_sync(down)
        assert not NEW_TABLES & set(await _tables(db))
        await migrate.upgrade(db)
        assert set(await _tables(db)) >= NEW_TABLES
    finally:
        await db.close()

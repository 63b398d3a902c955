"""Migration 0019 (console sessions, users.name_key) matches the code's tables on both
engines, fills the lookalike key of existing usernames, and reverts cleanly."""

from __future__ import annotations

import sqlalchemy as sa

from tests.storage.migration_util import migrate_to
from tests.storage.migration_util import tables as _columns
from tidings.protocol.names import name_key
from tidings.storage.console_sessions import console_sessions
from tidings.storage.database import Database
from tidings.storage.schema import users


async def test_0019_matches_schema_backfills_and_reverts(database: Database) -> None:
    tables = await _columns(database)
    assert tables["console_sessions"] == {c.name for c in console_sessions.columns}
    assert tables["users"] == {c.name for c in users.columns}
    await migrate_to(database, "0017", down=True)
    after = await _columns(database)
    assert "console_sessions" not in after and "name_key" not in after["users"]
    async with database.engine.begin() as conn:  # a user made by the older version
        await conn.execute(sa.text("INSERT INTO users (username, role, created_at) "
                                   "VALUES ('a1ice_old', 'user', 1)"))
    await migrate_to(database, "0019")
    async with database.engine.connect() as conn:
        key = (await conn.execute(sa.select(users.c.name_key)
                                  .where(users.c.username == "a1ice_old"))).scalar_one()
    assert key == name_key("alice_old")

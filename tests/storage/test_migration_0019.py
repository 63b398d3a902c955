"""Migration 0019 (console sessions, users.name_key) matches the code's tables on both
engines, fills the lookalike key of existing usernames, and reverts cleanly."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Connection

from tests.storage.migration_util import tables as _columns
from tidings.protocol.names import name_key
from tidings.storage import migrate
from tidings.storage.console_sessions import console_sessions
from tidings.storage.database import Database
from tidings.storage.schema import users


def _to(revision: str, upgrade: bool = False) -> Callable[[Connection], None]:
    def run(conn: Connection) -> None:
        cfg = migrate._config()
        cfg.attributes["connection"] = conn
        (command.upgrade if upgrade else command.downgrade)(cfg, revision)
    return run


async def test_0019_matches_schema_backfills_and_reverts(database: Database) -> None:
    tables = await _columns(database)
    assert tables["console_sessions"] == {c.name for c in console_sessions.columns}
    assert tables["users"] == {c.name for c in users.columns}
    async with database.engine.begin() as conn:
        await conn.run_sync(_to("0017"))
    after = await _columns(database)
    assert "console_sessions" not in after and "name_key" not in after["users"]
    async with database.engine.begin() as conn:  # a user made by the older version
        await conn.execute(sa.text("INSERT INTO users (username, role, created_at) "
                                   "VALUES ('a1ice_old', 'user', 1)"))
    async with database.engine.begin() as conn:
        await conn.run_sync(_to("0019", upgrade=True))
    async with database.engine.connect() as conn:
        key = (await conn.execute(sa.select(users.c.name_key)
                                  .where(users.c.username == "a1ice_old"))).scalar_one()
    assert key == name_key("alice_old")

"""Migration 0023: existing posts get per-channel numbers in id order, each channel's
counter starts after its highest number, a pin is named by number, (channel, number) is
unique, and the revision reverts. Runs on both engines from a database holding data at
the revision before."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from tests.conftest import fresh_database
from tests.storage.migration_util import migrate_to
from tidings.storage import migrate
from tidings.storage.database import Database

BEFORE = str(import_module("tidings.storage.migrations.versions.0023_post_numbers").down_revision)
"""Whatever 0023 follows (the head it branched from, or the one it is merged after)."""


async def _sql(db: Database, sql: str) -> list[tuple[object, ...]]:
    async with db.write() as conn:
        result = await conn.execute(sa.text(sql))
        return [tuple(r) for r in result] if result.returns_rows else []


async def _columns(db: Database, table: str) -> set[str]:
    def read(conn: Connection) -> set[str]:
        return {c["name"] for c in sa.inspect(conn).get_columns(table)}

    async with db.engine.connect() as conn:
        return await conn.run_sync(read)


async def test_existing_posts_are_numbered_per_channel(db_kind: str, tmp_path: Path) -> None:
    db = Database(await fresh_database(db_kind, tmp_path))
    try:
        await migrate_to(db, BEFORE)
        await _sql(db, "INSERT INTO users (username, role, created_at) "
                       "VALUES ('alice', 'user', 1)")
        await _sql(db, "INSERT INTO channels (handle, handle_key, title, title_key, owner_id, "
                       "created_at) VALUES ('one', 'one', 'One', 'one', 1, 1), "
                       "('two', 'two', 'Two', 'two', 1, 1), ('empty', 'empty', 'E', 'e', 1, 1)")
        # interleaved: ids 1..5 go to channels 2, 1, 2, 2, 1; post 4 was deleted
        await _sql(db, "INSERT INTO channel_posts (channel_id, author_id, text, created_at, "
                       "deleted_at) VALUES (2, 1, 'a', 1, NULL), (1, 1, 'b', 1, NULL), "
                       "(2, 1, 'c', 1, NULL), (2, 1, '', 1, 5), (1, 1, 'e', 1, NULL)")
        await _sql(db, "UPDATE channels SET pinned_post_id = 3 WHERE id = 2")
        await migrate.upgrade(db)
        assert await _sql(db, "SELECT id, channel_id, number FROM channel_posts "
                              "ORDER BY id") == [
            (1, 2, 1), (2, 1, 1), (3, 2, 2), (4, 2, 3), (5, 1, 2)]
        assert await _sql(db, "SELECT id, last_post_number, pinned_number FROM channels "
                              "ORDER BY id") == [(1, 2, None), (2, 3, 2), (3, 0, None)]
        with pytest.raises(IntegrityError):
            await _sql(db, "INSERT INTO channel_posts (channel_id, author_id, text, "
                           "created_at, number) VALUES (2, 1, 'dup', 2, 3)")
        await migrate_to(db, BEFORE, down=True)
        assert await _columns(db, "channel_posts") >= {"id", "channel_id", "text"}
        assert "number" not in await _columns(db, "channel_posts")
        assert not {"last_post_number", "pinned_number"} & await _columns(db, "channels")
        assert await _sql(db, "SELECT count(*) FROM channel_posts") == [(5,)]
        await migrate.upgrade(db)
        assert await _sql(db, "SELECT number FROM channel_posts WHERE id = 4") == [(3,)]
        if db_kind == "sqlite":
            assert await _sql(db, "PRAGMA integrity_check") == [("ok",)]
    finally:
        await db.close()

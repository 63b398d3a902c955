"""Migration 0011: ids of accounts, channels and posts are never reused (SQLite
AUTOINCREMENT added in place, rows and foreign keys intact); the update log's copies of
posts are dropped. Runs on both engines from a database holding data at 0010."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from tests.conftest import fresh_database
from tests.storage.migration_util import migrate_to
from tidings.storage.database import Database


async def _sql(db: Database, sql: str, **params: object) -> list[tuple[object, ...]]:
    async with db.write() as conn:
        result = await conn.execute(sa.text(sql), params)
        return [tuple(r) for r in result] if result.returns_rows else []


async def test_ids_never_come_back_and_log_keeps_no_text(db_kind: str, tmp_path: Path) -> None:
    db = Database(await fresh_database(db_kind, tmp_path))
    try:
        await migrate_to(db, "0010")
        await _sql(db, "INSERT INTO users (username, role, created_at) VALUES "
                       "('alice', 'user', 1), ('bob', 'user', 1)")
        await _sql(db, "INSERT INTO channels (handle, handle_key, title, title_key, owner_id, "
                       "created_at) VALUES ('one', 'one', 'One', 'one', 1, 1), "
                       "('two', 'two', 'Two', 'two', 2, 1)")
        await _sql(db, "INSERT INTO channel_posts (channel_id, author_id, text, created_at) "
                       "VALUES (2, 2, 'secret words', 1), (2, 2, 'more', 1)")
        await _sql(db, "INSERT INTO post_views (post_id, user_id) VALUES (1, 1)")
        await _sql(db, "INSERT INTO channel_updates (channel_id, seq, kind, post_id, body, "
                       "created_at) VALUES (2, 1, 'post', 1, '{\"text\": \"secret words\"}', 1)")
        await migrate_to(db, "0011")  # raw inserts below are in 0011's schema (0023 numbers posts)
        # every row is still there, children included
        assert await _sql(db, "SELECT id, handle FROM channels ORDER BY id") == [
            (1, "one"), (2, "two")]
        assert await _sql(db, "SELECT count(*) FROM post_views") == [(1,)]
        assert await _sql(db, "SELECT body FROM channel_updates") == [('{"id":1}',)]
        # the newest row of each table goes; the next one gets a new id
        await _sql(db, "DELETE FROM channel_posts WHERE id = 2")
        await _sql(db, "DELETE FROM channels WHERE id = 1")  # no posts: cascade is a no-op
        new_post = await _sql(db, "INSERT INTO channel_posts (channel_id, author_id, text, "
                                  "created_at) VALUES (2, 1, 'new', 2) RETURNING id")
        assert new_post == [(3,)]
        await _sql(db, "DELETE FROM channels WHERE id = 2")
        assert await _sql(db, "SELECT count(*) FROM channel_posts") == [(0,)]  # FK cascade
        new_channel = await _sql(db, "INSERT INTO channels (handle, handle_key, title, "
                                     "title_key, owner_id, created_at) VALUES ('three', "
                                     "'three', 'Three', 'three', 1, 2) RETURNING id")
        assert new_channel == [(3,)]
        await _sql(db, "DELETE FROM users WHERE id = 2")
        assert await _sql(db, "INSERT INTO users (username, role, created_at) VALUES "
                              "('carol', 'user', 2) RETURNING id") == [(3,)]
        if db_kind == "sqlite":
            assert await _sql(db, "PRAGMA integrity_check") == [("ok",)]
            assert await _sql(db, "PRAGMA foreign_key_check") == []
    finally:
        await db.close()


def test_autoincrement_rewrite_is_exact() -> None:
    from importlib import import_module

    mod = import_module("tidings.storage.migrations.versions.0011_stable_ids")
    sql = ("CREATE TABLE channels (\n\tid INTEGER NOT NULL, \n\thandle VARCHAR(32) NOT NULL,"
           " \n\tPRIMARY KEY (id), \n\tUNIQUE (handle)\n)")
    new = mod.autoincrement_sql(sql)
    assert "id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT" in new
    assert "PRIMARY KEY (id)" not in new and "UNIQUE (handle)" in new
    assert mod.autoincrement_sql(new) == new

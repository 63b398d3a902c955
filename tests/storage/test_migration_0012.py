"""Migration 0012 (media uploaders, signals stored at upload, withdrawal) matches
channel_schema.py on both engines, keeps existing uploaders and reverts cleanly."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Connection

from tests.storage.migration_util import tables as _tables
from tidings.storage import migrate
from tidings.storage.channel_schema import media, media_uploads
from tidings.storage.database import Database
from tidings.storage.schema import metadata, users

NEW_TABLES = {"media_uploads", "media_signals"}
NEW_COLUMNS = {"withdrawn_at", "withdrawn_reason"}


def _migrate(conn: Connection, target: str, up: bool) -> None:
    cfg = migrate._config()
    cfg.attributes["connection"] = conn
    (command.upgrade if up else command.downgrade)(cfg, target)


async def test_0012_matches_schema_backfills_uploaders_and_reverts(database: Database) -> None:
    assert int(migrate.head_revision()) >= 11
    tables = await _tables(database)
    for name in NEW_TABLES:
        assert tables[name] == {c.name for c in metadata.tables[name].columns}, name
    assert tables["media"] >= NEW_COLUMNS
    async with database.engine.begin() as conn:
        await conn.run_sync(_migrate, "0011", False)
    tables = await _tables(database)
    assert not NEW_TABLES & set(tables) and not NEW_COLUMNS & tables["media"]
    async with database.write() as conn:  # an upload made before 0012
        uid = (await conn.execute(sa.insert(users).values(
            username="early", role="user", created_at=1).returning(users.c.id))).scalar_one()
        await conn.execute(sa.text(
            "INSERT INTO media (sha256, kind, media_type, size, uploader_id, created_at) "
            "VALUES (:s, 'photo', 'image/jpeg', 10, :u, 5)"), {"s": "ab" * 32, "u": uid})
    await migrate.upgrade(database)
    async with database.read() as conn:
        rows = (await conn.execute(sa.select(media_uploads.c.sha256, media_uploads.c.user_id,
                                             media_uploads.c.created_at))).all()
        withdrawn = (await conn.execute(sa.select(media.c.withdrawn_at))).scalar_one()
    assert [tuple(r) for r in rows] == [("ab" * 32, uid, 5)] and withdrawn is None

"""Migration 0025 (a banned channel's own link domains in its fingerprint) adds the
``domains`` column on both engines, keeps existing fingerprints, and reverts cleanly."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from tidings.storage import migrate
from tidings.storage.database import Database
from tidings.storage.returning_schema import channel_fingerprints


def _columns(conn: Connection) -> set[str]:
    return {c["name"] for c in inspect(conn).get_columns("channel_fingerprints")}


async def test_0025_adds_domains_and_reverts(database: Database) -> None:
    def down(conn: Connection) -> None:
        cfg = migrate._config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "-1")  # 0025 only, whatever it follows

    async with database.engine.begin() as conn:
        assert "domains" in await conn.run_sync(_columns)
        await conn.run_sync(down)
        assert "domains" not in await conn.run_sync(_columns)
        await conn.execute(sa.text(
            "INSERT INTO users (id, username, password_hash, role, created_at) "
            "VALUES (1, 'o', 'h', 'user', 1)"))
        await conn.execute(sa.text(
            "INSERT INTO channels (id, handle, handle_key, title, title_key, owner_id, "
            "created_at) VALUES (1, 'dawn', 'dawn', 'Dawn', 'dawn', 1, 1)"))
        await conn.execute(sa.text(
            "INSERT INTO channel_fingerprints (channel_id, label, cause, handle, title, "
            "description, avatar_pdq, media_pdq, invite_tokens, created_at) "
            "VALUES (1, 'l', 'order', 'dawn', 'Dawn', '', '[]', '[]', '[]', 1)"))
    await migrate.upgrade(database)
    async with database.engine.connect() as conn:
        row = (await conn.execute(sa.select(channel_fingerprints.c.domains))).one()
    assert row.domains == "[]"

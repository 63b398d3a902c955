"""What the migration tests share: the live schema as the database reports it, and
moving the database to a revision."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from tidings.storage import migrate
from tidings.storage.database import Database


async def tables(db: Database) -> dict[str, set[str]]:
    """Every table of the database with its column names."""

    def read(conn: Connection) -> dict[str, set[str]]:
        insp = inspect(conn)
        return {t: {c["name"] for c in insp.get_columns(t)} for t in insp.get_table_names()}

    async with db.engine.connect() as conn:
        return await conn.run_sync(read)


async def migrate_to(db: Database, revision: str, *, down: bool = False) -> None:
    """Upgrade (or with ``down``, downgrade) the database to ``revision``."""

    def run(conn: Connection) -> None:
        cfg = migrate._config()
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)

    async with db.engine.begin() as conn:
        await conn.run_sync(run)

"""What the migration tests share: the live schema as the database reports it."""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from tidings.storage.database import Database


async def tables(db: Database) -> dict[str, set[str]]:
    """Every table of the database with its column names."""

    def read(conn: Connection) -> dict[str, set[str]]:
        insp = inspect(conn)
        return {t: {c["name"] for c in insp.get_columns(t)} for t in insp.get_table_names()}

    async with db.engine.connect() as conn:
        return await conn.run_sync(read)

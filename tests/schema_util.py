"""Fresh databases at the newest schema revision, cheaply, for tests.

Running every migration costs about 0.2 s of CPU on SQLite and 3-7 s of wall time on the
shared PostgreSQL, and most tests start on a fresh database. So each test process runs
the migrations for real once per engine and then:

* SQLite: a new database file is a copy (SQLite's backup API) of the one it migrated;
* PostgreSQL: the process's own database, when it is still exactly at the newest
  revision with the tables the migrations made, is emptied row by row (every table,
  with foreign-key triggers off for the transaction), the migrations' seed rows are put
  back and every sequence restarts; otherwise (a migration test moved it, say) the
  schema is dropped and migrated again.

Either way a test sees what `tidings db upgrade` leaves: the same tables, seed rows and
revision. The migration tests in tests/storage migrate for real (``fresh_database``
without ``migrated`` gives them an empty database), and so does any existing file.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from tidings.storage import migrate
from tidings.storage.database import Database

_sqlite_template: Path | None = None


@dataclass
class _PostgresHead:
    tables: list[str]
    seeds: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    sequences: dict[str, int | None] = field(default_factory=dict)
    """Each sequence's last value after the migrations (None: never used)."""


_postgres_head: _PostgresHead | None = None


async def upgraded(url: str) -> None:
    """Bring the database at ``url`` to the newest revision, as `tidings db upgrade` does
    (a SQLite file that does not exist yet becomes a copy of one migrated once)."""
    global _sqlite_template
    target = sqlite_path(url)
    if target is None or target.exists():
        await _migrate(url)
        return
    if _sqlite_template is None:
        template = Path(tempfile.mkdtemp(prefix="tidings-schema-")) / "head.db"
        await _migrate(f"sqlite+aiosqlite:///{template}")
        _sqlite_template = template
    with contextlib.closing(sqlite3.connect(_sqlite_template)) as source, \
            contextlib.closing(sqlite3.connect(target)) as copy:
        source.backup(copy)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    prefix = "sqlite+aiosqlite:///"
    if not url.startswith(prefix) or url == prefix + ":memory:":
        return None
    return Path(url[len(prefix):].split("?", 1)[0])


async def _migrate(url: str) -> None:
    db = Database(url)
    try:
        if await migrate.current_revision(db) != migrate.head_revision():
            await migrate.upgrade(db)
    finally:
        await db.close()


_SEQUENCES = "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'"


def _tables_sql() -> str:
    return ("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'alembic_version' ORDER BY tablename")


async def _state(conn: AsyncConnection) -> tuple[str | None, list[str]]:
    tables = [str(r[0]) for r in await conn.execute(text(_tables_sql()))]
    revision = None
    if "alembic_version" in {str(r[0]) for r in await conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))}:
        revision = (await conn.execute(text("SELECT version_num FROM alembic_version"))
                    ).scalar()
    return revision, tables


async def postgres_at_head(url: str, reset_empty: Any) -> None:
    """The PostgreSQL database at ``url`` as freshly migrated (see the module docstring);
    ``reset_empty`` is the coroutine function that drops its schema."""
    global _postgres_head
    engine = create_async_engine(url)
    try:
        if _postgres_head is not None:
            async with engine.begin() as conn:
                revision, tables = await _state(conn)
                if revision == migrate.head_revision() and tables == _postgres_head.tables:
                    await _empty(conn, _postgres_head)
                    return
        await reset_empty()
        await _migrate(url)
        async with engine.begin() as conn:
            _, tables = await _state(conn)
            seeds = {}
            for table in tables:
                rows = (await conn.execute(text(f'SELECT * FROM "{table}"'))  # noqa: S608
                        ).mappings().all()  # (names from pg_tables)
                if rows:
                    seeds[table] = [dict(r) for r in rows]
            sequences = {str(r[0]): r[1] for r in await conn.execute(text(_SEQUENCES))}
            _postgres_head = _PostgresHead(tables, seeds, sequences)
    finally:
        await engine.dispose()


async def _empty(conn: AsyncConnection, head: _PostgresHead) -> None:
    await conn.execute(text("SET LOCAL session_replication_role = replica"))
    for table in head.tables:
        await conn.execute(text(f'DELETE FROM "{table}"'))  # noqa: S608
    for table, rows in head.seeds.items():
        columns = list(rows[0])
        names = ", ".join(f'"{c}"' for c in columns)
        values = ", ".join(f":{c}" for c in columns)
        insert = f'INSERT INTO "{table}" ({names}) VALUES ({values})'  # noqa: S608
        await conn.execute(text(insert), rows)
    for sequence in [str(r[0]) for r in await conn.execute(text(_SEQUENCES))]:
        last = head.sequences.get(sequence)
        if last is None:
            await conn.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))
        else:
            await conn.execute(text("SELECT setval(:name, :last, true)"),
                               {"name": f'"{sequence}"', "last": last})


def cleanup() -> None:
    """Remove this process's SQLite template (the PostgreSQL database goes with the rest)."""
    if _sqlite_template is not None:
        shutil.rmtree(_sqlite_template.parent, ignore_errors=True)

"""Apply and check Alembic migrations programmatically (connection sharing recipe).

The server never migrates on its own: it refuses to start on an unmigrated database or
on one migrated by newer code, and says which command fixes it.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import TYPE_CHECKING

from tidings.protocol.errors import Unavailable

if TYPE_CHECKING:  # Alembic loads when a migration is checked or run (it is slow to
    # import, and `tidings` client commands that import this module never need it)
    from alembic.config import Config
    from sqlalchemy.engine import Connection

    from tidings.storage.database import Database


def _config() -> Config:
    from alembic.config import Config

    cfg = Config()
    location = resources.files("tidings.storage") / "migrations"
    cfg.set_main_option("script_location", str(location))
    return cfg


@functools.cache
def head_revision() -> str:
    """The newest revision this code knows (read once a process: loading the revision
    scripts to find it costs tens of milliseconds, and they do not change)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:  # pragma: no cover - the package ships migrations
        raise RuntimeError("no migrations found")
    return head


async def upgrade(db: Database) -> str:
    """Bring the schema to the newest revision; returns it."""

    from alembic import command

    def _run(conn: Connection) -> None:
        cfg = _config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")

    async with db.engine.begin() as conn:
        await conn.run_sync(_run)
    return head_revision()


async def current_revision(db: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    def _get(conn: Connection) -> str | None:
        return MigrationContext.configure(conn).get_current_revision()

    async with db.engine.connect() as conn:
        return await conn.run_sync(_get)


class SchemaMismatch(Unavailable):
    default_code = "schema_mismatch"


async def check_current(db: Database) -> None:
    """Raise ``SchemaMismatch`` unless the database is at exactly this code's head."""
    current = await current_revision(db)
    head = head_revision()
    if current == head:
        return
    from alembic.script import ScriptDirectory

    known = {rev.revision for rev in ScriptDirectory.from_config(_config()).walk_revisions()}
    if current is None:
        raise SchemaMismatch(
            "the database has not been migrated; run `tidings db upgrade` first")
    if current not in known:
        raise SchemaMismatch(
            f"the database schema ({current}) is newer than this version of Tidings "
            f"(knows up to {head}); upgrade Tidings or restore a matching backup")
    raise SchemaMismatch(
        f"the database schema is at {current} but this code needs {head}; "
        "run `tidings db upgrade`")

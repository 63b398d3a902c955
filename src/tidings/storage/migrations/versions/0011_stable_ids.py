"""Identifiers of moderated objects are never reused; the update log keeps no content.

SQLite hands out ``max(rowid) + 1`` for a plain ``INTEGER PRIMARY KEY``, so once the
newest channel, post or account row is deleted its id comes back for the next
one, and a case, an order or an audit record naming ``post:ID`` would come to mean an
innocent user's post (issue #17). ``AUTOINCREMENT`` makes SQLite remember the largest id
ever used (in ``sqlite_sequence``). PostgreSQL already draws these ids from sequences,
which never go back.

Adding ``AUTOINCREMENT`` to an existing table: the usual rebuild (new table, copy, drop,
rename) cannot run here, because the migration runs in one transaction with foreign
keys on, where ``PRAGMA foreign_keys=OFF`` is ignored and dropping the old table would
cascade-delete every post, subscription and admin row. The columns are already rowid
aliases (``INTEGER`` with a one-column primary key), so the stored b-tree is the same
with or without the keyword: the migration rewrites only the table's definition in
``sqlite_schema`` (the SQLite documentation's writable_schema procedure, "Making Other
Kinds Of Table Schema Changes"), seeds ``sqlite_sequence`` with the current largest id,
bumps the schema version so every connection reloads it, and checks integrity.

The update log's rows kept a copy of each post as it was when logged (the text of an
edited post's old version, of a post removed later); readers now get each post as it
is, so the copies are replaced by a bare reference (``{"id": N}``).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import re

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLES = ("users", "channels", "channel_posts")

_COLUMN = re.compile(r"\bid INTEGER NOT NULL(?! PRIMARY KEY)")
_TABLE_PK = re.compile(r",\s*PRIMARY KEY \(id\)")


def autoincrement_sql(sql: str) -> str:
    """The table's CREATE statement with ``id`` as ``PRIMARY KEY AUTOINCREMENT``."""
    if "AUTOINCREMENT" in sql:
        return sql
    new, columns = _COLUMN.subn("id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT", sql, count=1)
    new, keys = _TABLE_PK.subn("", new, count=1)
    if columns != 1 or keys != 1:
        raise RuntimeError(f"unexpected table definition, not changed: {sql}")
    return new


def _sqlite_upgrade() -> None:
    bind = op.get_bind()
    # sqlite_sequence exists once any AUTOINCREMENT table has been created
    bind.exec_driver_sql("CREATE TABLE _tidings_seq_probe "
                         "(id INTEGER PRIMARY KEY AUTOINCREMENT)")
    bind.exec_driver_sql("DROP TABLE _tidings_seq_probe")
    changed = []
    for table in TABLES:
        sql = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' "
                                   "AND name = ?", (table,)).scalar_one()
        new = autoincrement_sql(str(sql))
        if new != sql:
            changed.append((table, new))
    if not changed:
        return
    version = int(bind.exec_driver_sql("PRAGMA schema_version").scalar_one())
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    for table, new in changed:
        bind.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' "
                             "AND name = ?", (new, table))
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")
    bind.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    for table, _ in changed:
        bind.exec_driver_sql("DELETE FROM sqlite_sequence WHERE name = ?", (table,))
        bind.exec_driver_sql(f"INSERT INTO sqlite_sequence (name, seq) "  # noqa: S608
                             f"SELECT '{table}', COALESCE(MAX(id), 0) FROM {table}")
    check = bind.exec_driver_sql("PRAGMA integrity_check").scalar_one()
    if check != "ok":
        raise RuntimeError(f"integrity check failed after AUTOINCREMENT: {check}")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_upgrade()
    op.execute("UPDATE channel_updates SET body = "
               "'{\"id\":' || CAST(post_id AS TEXT) || '}'")


def downgrade() -> None:
    # AUTOINCREMENT stays (an older version reads and writes such tables unchanged); the
    # log's copies of old post versions were dropped on purpose and are not restored.
    pass

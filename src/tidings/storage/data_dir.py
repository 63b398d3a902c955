"""The data directory's permissions: 0700 for the directory, 0600 for what holds secrets.

The directory holds the SQLite database (accounts, password hashes, reports, queued
ciphertext), ``secrets.json`` (the token pepper and franking keys), ``tidings.toml``
(which may carry database and Redis passwords), media and preserved evidence. Other
local users of the host have no business reading any of it, so the directory is 0700
and those files 0600, whatever the umask was when they were made. ``serve``,
``db upgrade`` and every server start apply this, and tighten an existing directory
made by an older version or copied with loose modes, saying so in the log.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy.engine import make_url

DIR_MODE = 0o700
FILE_MODE = 0o600
SECRET_FILES = ("secrets.json", "tidings.toml")
SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")
"""SQLite's own files beside the database; it gives new ones the database's mode."""


def sqlite_path(database_url: str) -> Path | None:
    """The database file of a SQLite URL, None for other databases (or in-memory)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def _tighten(path: Path, mode: int) -> str | None:
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return None
    if current & ~mode & 0o777 == 0:
        return None
    os.chmod(path, current & mode)
    return f"{path}: mode {current:04o} -> {current & mode:04o}"


def secure(data_dir: Path, database_url: str = "") -> list[str]:
    """Create the data directory 0700 (and an absent SQLite database file 0600, so it
    never exists with looser modes); tighten what is looser. Returns the changes made,
    for the caller to log."""
    data_dir.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    changed = [_tighten(data_dir, DIR_MODE)]
    files = [data_dir / name for name in SECRET_FILES]
    database = sqlite_path(database_url) if database_url else None
    if database is not None:
        if not database.exists() and database.parent.is_dir():
            os.close(os.open(database, os.O_WRONLY | os.O_CREAT, FILE_MODE))
        files += [database.with_name(database.name + s) for s in SQLITE_SUFFIXES]
    changed += [_tighten(path, FILE_MODE) for path in files]
    return [c for c in changed if c is not None]

"""Look inside the server's storage for a piece of text, as anyone on the host could.

``search_database`` opens the SQLite file read-only (the server keeps running) and
looks at every value of every text and blob column of every table; ``search_files``
reads every file under the data directory as raw bytes (the database, its
write-ahead log, media blobs, logs). Both are plain searches that find the text when
it is there: the demo runs them on a username and a public post as controls.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TEXT_TYPES = ("CHAR", "CLOB", "TEXT", "JSON")
"""SQLite type affinity (https://sqlite.org/datatype3.html, 3.1): text if the declared
type contains one of these; blob if it contains BLOB or is empty."""


@dataclass
class Found:
    tables: int = 0
    columns: int = 0
    rows: int = 0
    hits: list[str] = field(default_factory=list)
    """``table.column`` for each value holding the text."""


def _searchable(declared: str) -> bool:
    t = declared.upper()
    return not t or "BLOB" in t or any(x in t for x in TEXT_TYPES)


def _holds(value: Any, needle: str) -> bool:
    if isinstance(value, str):
        return needle.casefold() in value.casefold()
    if isinstance(value, bytes):
        return needle.encode() in value
    return False


def search_database(path: Path, needle: str) -> Found:
    """Every text/blob column of every table: which values contain ``needle``."""
    found = Found()
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        for table in tables:
            quoted = '"' + table.replace('"', '""') + '"'
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({quoted})")
                       if _searchable(str(r[2]))]
            found.tables += 1
            if not columns:
                continue
            found.columns += len(columns)
            names = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
            # Identifiers from the database's own catalogue, quoted (no outside input).
            for row in conn.execute(f"SELECT {names} FROM {quoted}"):  # noqa: S608
                found.rows += 1
                found.hits += [f"{table}.{c}" for c, v in zip(columns, row, strict=True)
                               if _holds(v, needle)]
    finally:
        conn.close()
    return found


def search_files(directory: Path, needle: str) -> tuple[int, list[str]]:
    """(files read, files whose raw bytes contain ``needle`` as UTF-8)."""
    raw = needle.encode()
    paths = sorted(p for p in directory.rglob("*") if p.is_file())
    hits = [str(p.relative_to(directory)) for p in paths if raw in p.read_bytes()]
    return len(paths), hits


def queued_ciphertext(path: Path, device_id: str) -> str | None:
    """The ciphertext of the first message waiting in a device's queue, if any."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        row = conn.execute(
            "SELECT body FROM stream_events WHERE device_id = ? AND kind = 'message' "
            "ORDER BY seq LIMIT 1", (device_id,)).fetchone()
    finally:
        conn.close()
    if row is None:
        return None
    event = json.loads(row[0])
    olm = event.get("ciphertext")  # {"type": 0 (pre-key) or 1, "body": base64}
    if isinstance(olm, dict) and isinstance(olm.get("body"), str):
        return str(olm["body"])
    return str(row[0])

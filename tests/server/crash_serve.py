"""``tidings serve`` exactly as installed, with its imports done before it is needed.

Most of a cold start is importing (FastAPI, SQLAlchemy, Alembic, the moderation
plugins: seconds on a busy 2-core machine). The crash test keeps one spare process
that has imported everything, says so by creating ``<SPARE_DIR>/<pid>.ready``, and
waits for a line on stdin; when the server is SIGKILLed, the spare is told to go and
runs the real CLI (``tidings.cli.main``: ``serve`` checks the schema, builds the app,
opens the database and recovers it exactly as a fresh process would). Only the import
time is taken out of the restart.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httptools  # noqa: F401 - what `serve` runs uvicorn with
import uvicorn  # noqa: F401
import uvloop  # noqa: F401

import tidings.server.app  # noqa: F401
from tidings.cli.main import main

SPARE_DIR = "TIDINGS_TEST_SPARE_DIR"

if __name__ == "__main__":
    (Path(os.environ[SPARE_DIR]) / f"{os.getpid()}.ready").touch()
    if sys.stdin.readline().strip() == "go":
        main()

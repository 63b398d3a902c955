"""The database handle: one async engine, SQLite or PostgreSQL, and its transactions.

SQLite is the embedded default. It runs in WAL mode with foreign keys on and
``synchronous=FULL``: in WAL mode ``NORMAL`` may lose the last committed transactions on
power loss, and Tidings acknowledges a message only once it is durable, so FULL it is.
SQLite allows one writer at a time, so writes in this process queue on an asyncio lock
instead of failing with "database is locked"; readers are never blocked (WAL).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from tidings.storage.plan import Plan, run_async, run_sync

T = TypeVar("T")

# aiosqlite logs every statement *with its parameters* at DEBUG (ciphertext, report
# payloads, token hashes). Like SQLAlchemy does for its own loggers, keep it at INFO
# unless the operator sets a level for it explicitly (docs/security.md, "Logs").
if logging.getLogger("aiosqlite").level == logging.NOTSET:
    logging.getLogger("aiosqlite").setLevel(logging.INFO)

SQLITE_BUSY_TIMEOUT_MS = 10_000
PG_POOL_SIZE = 10
PG_POOL_OVERFLOW = 10
SQLITE_READ_THREADS = 2
"""Threads that run whole read plans on SQLite (``Database.read_plan``)."""


class Database:
    """Owns the engine; hands out read and write transactions."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            # hide_parameters: statements may be logged (echo, or DEBUG logging), but
            # never their values: ciphertext, report payloads, token hashes.
            self.engine: AsyncEngine = create_async_engine(url, echo=echo,
                                                           hide_parameters=True)
            _configure_sqlite(self.engine)
        elif self.dialect == "postgresql":
            self.engine = create_async_engine(
                url, echo=echo, pool_size=PG_POOL_SIZE, max_overflow=PG_POOL_OVERFLOW,
                pool_pre_ping=True, hide_parameters=True,
            )
        else:
            raise ValueError(f"unsupported database URL scheme: {parsed.drivername}")
        self._write_lock = asyncio.Lock() if self.dialect == "sqlite" else None
        self._sync_engine: Engine | None = None
        self._sync_lock = threading.Lock()
        self._readers: ThreadPoolExecutor | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction (a consistent snapshot)."""
        async with self.engine.connect() as conn:
            yield conn
            await conn.rollback()

    async def read_plan(self, plan: Plan[T]) -> T:
        """Run a read-only plan (``storage/plan.py``) in one snapshot.

        On SQLite the whole plan runs in one hop to a reader thread on a plain
        ``sqlite3`` connection, instead of aiosqlite's hop per call (connect, BEGIN,
        each statement, each fetch, rollback): for the reads on the send path that is
        most of their cost. Elsewhere it runs on the async engine."""
        if not self.is_sqlite:
            async with self.read() as conn:
                return await run_async(conn, plan)
        engine = self.sync_engine()
        if self._readers is None:
            self._readers = ThreadPoolExecutor(SQLITE_READ_THREADS, thread_name_prefix="db-read")
        return await asyncio.get_running_loop().run_in_executor(
            self._readers, _read_sync, engine, plan)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction; committed (durably) when the block exits cleanly."""
        if self._write_lock is None:
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self._write_lock, self.engine.connect() as conn:
            await conn.execution_options(tidings_begin="IMMEDIATE")
            async with conn.begin():
                yield conn

    async def write_plan(self, plan: Plan[T]) -> T:
        """Run a plan (``storage/plan.py``) as one write transaction, committed
        (durably) before it returns. On SQLite the whole transaction (BEGIN IMMEDIATE,
        the statements, COMMIT) is one hop to a worker thread on a plain ``sqlite3``
        connection, in this process's write turn, as the group committer's is."""
        if not self.is_sqlite:
            async with self.write() as conn:
                return await run_async(conn, plan)
        engine = self.sync_engine()
        async with self.write_lock():
            return await asyncio.to_thread(_write_sync, engine, plan)

    @asynccontextmanager
    async def write_lock(self) -> AsyncIterator[None]:
        """Hold this process's SQLite write turn without opening a connection."""
        if self._write_lock is None:
            yield
            return
        async with self._write_lock:
            yield

    def sync_engine(self) -> Engine:
        """A plain ``sqlite3`` engine on the same file, same pragmas (SQLite only).

        For code that runs a whole transaction inside one worker thread (the group
        committer), where aiosqlite's one-thread-hop-per-statement would dominate.
        """
        if not self.is_sqlite:
            raise RuntimeError("the sync engine is for SQLite")
        with self._sync_lock:  # the committer's thread and the loop may both ask first
            if self._sync_engine is None:
                url = make_url(self.url).set(drivername="sqlite+pysqlite")
                engine = create_engine(url)
                _configure_sqlite(engine)
                self._sync_engine = engine
            return self._sync_engine

    async def close(self) -> None:
        if self._readers is not None:
            self._readers.shutdown(wait=True)
            self._readers = None
        await self.engine.dispose()
        if self._sync_engine is not None:
            self._sync_engine.dispose()


def _read_sync(engine: Engine, plan: Plan[T]) -> T:
    with engine.connect() as conn, conn.begin():  # BEGIN (deferred): one snapshot
        return run_sync(conn, plan)


def _write_sync(engine: Engine, plan: Plan[T]) -> T:
    with engine.connect() as conn:
        conn = conn.execution_options(tidings_begin="IMMEDIATE")
        with conn.begin():
            return run_sync(conn, plan)


def _configure_sqlite(engine: AsyncEngine | Engine) -> None:
    sync_engine = engine.sync_engine if isinstance(engine, AsyncEngine) else engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from the driver: we issue BEGIN ourselves
        # (BEGIN IMMEDIATE for writes), as the SQLAlchemy SQLite docs recommend.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("tidings_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())


def sqlite_url_for(path: str) -> str:
    return f"sqlite+aiosqlite:///{path}"


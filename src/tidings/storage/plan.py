"""Statements as plans: write SQL logic once, run it on an async or a sync connection.

A plan is a generator that yields statements (or ``(statement, rows)`` for an
executemany) and receives each one's result. The same plan runs on SQLAlchemy's
async connection (PostgreSQL via asyncpg) or on a sync connection in one worker
thread (SQLite via the standard ``sqlite3`` module). The group committer uses the
sync path on SQLite so a whole batch costs one thread hop instead of one per
statement, which is what makes latency hold up on a busy machine.

On SQLite a plan may yield ``Raw`` steps (the send path's hot statements): SQL text
run on the ``sqlite3`` connection itself, in the same transaction (on the async engine,
through ``exec_driver_sql``). ``sqlite3`` keeps each text's prepared statement in its
own cache, so a hot statement is parsed once per connection, and nothing is built,
compiled, hashed for SQLAlchemy's cache or wrapped in a ``Result`` per call (that was
most of the group commit's CPU in the send path's profile, docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Executable

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Raw:
    """SQL text with ``?`` parameters for SQLite's driver (plans yield it only there).

    The plan receives the fetched rows as a list of tuples. With ``many``, ``params`` is
    a sequence of parameter tuples run as one ``executemany`` (no rows come back)."""

    sql: str
    params: Sequence[Any] = ()
    many: bool = False


def marks(values: Sequence[object]) -> str:
    """``?`` placeholders for ``values`` in a ``Raw`` statement's text (``IN (...)``,
    ``VALUES (...)``)."""
    return ",".join("?" * len(values))


Step = Executable | tuple[Executable, list[dict[str, Any]]] | Raw
Plan = Generator[Step, Any, T]
"""Receives each statement's ``Result``; typed Any so plans can index rows freely."""


async def run_async(conn: AsyncConnection, plan: Plan[T]) -> T:
    try:
        step = next(plan)
        while True:
            if isinstance(step, Raw):  # SQLite's async engine (aiosqlite): same text
                params = list(step.params) if step.many else tuple(step.params)
                result = await conn.exec_driver_sql(step.sql, params)
                fetched = list(result.fetchall()) if result.returns_rows else []
                step = plan.send(fetched)
                continue
            stmt, rows = step if isinstance(step, tuple) else (step, None)
            result = await conn.execute(stmt, rows) if rows is not None \
                else await conn.execute(stmt)
            step = plan.send(result)
    except StopIteration as stop:
        value: T = stop.value
        return value


def run_sync(conn: Connection, plan: Plan[T]) -> T:
    cursor: Any = None
    try:
        step = next(plan)
        while True:
            if isinstance(step, Raw):
                if cursor is None:
                    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
                if step.many:
                    cursor.executemany(step.sql, step.params)
                    step = plan.send([])
                else:
                    step = plan.send(cursor.execute(step.sql, step.params).fetchall())
                continue
            stmt, rows = step if isinstance(step, tuple) else (step, None)
            result = conn.execute(stmt, rows) if rows is not None else conn.execute(stmt)
            step = plan.send(result)
    except StopIteration as stop:
        value: T = stop.value
        return value
    finally:
        if cursor is not None:
            cursor.close()

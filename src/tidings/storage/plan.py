"""Statements as plans: write SQL logic once, run it on an async or a sync connection.

A plan is a generator that yields statements (or ``(statement, rows)`` for an
executemany) and receives each one's result. The same plan runs on SQLAlchemy's
async connection (PostgreSQL via asyncpg) or on a sync connection in one worker
thread (SQLite via the standard ``sqlite3`` module). The group committer uses the
sync path on SQLite so a whole batch costs one thread hop instead of one per
statement, which is what makes latency hold up on a busy machine.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Executable

T = TypeVar("T")
Step = Executable | tuple[Executable, list[dict[str, Any]]]
Plan = Generator[Step, Any, T]
"""Receives each statement's ``Result``; typed Any so plans can index rows freely."""


async def run_async(conn: AsyncConnection, plan: Plan[T]) -> T:
    try:
        step = next(plan)
        while True:
            stmt, rows = step if isinstance(step, tuple) else (step, None)
            result = await conn.execute(stmt, rows) if rows is not None \
                else await conn.execute(stmt)
            step = plan.send(result)
    except StopIteration as stop:
        value: T = stop.value
        return value


def run_sync(conn: Connection, plan: Plan[T]) -> T:
    try:
        step = next(plan)
        while True:
            stmt, rows = step if isinstance(step, tuple) else (step, None)
            result = conn.execute(stmt, rows) if rows is not None else conn.execute(stmt)
            step = plan.send(result)
    except StopIteration as stop:
        value: T = stop.value
        return value

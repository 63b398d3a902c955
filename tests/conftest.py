"""Shared fixtures: databases (SQLite and a real PostgreSQL), apps and live servers."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests import schema_util
from tests.apps import attach
from tests.schema_util import postgres_at_head, upgraded
from tidings.config import Settings, load_settings
from tidings.server.app import create_app
from tidings.services.clock import Clock, system_clock
from tidings.storage.database import Database

BASE_POSTGRES_URL = os.environ.get("TIDINGS_TEST_POSTGRES_URL",
                                   "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
# Each test process gets a database of its own, so test runs side by side (several
# checkouts, CI and a developer) never wait on each other's locks.
POSTGRES_DB = f"tidings_test_{os.getpid()}"
POSTGRES_URL = BASE_POSTGRES_URL.rsplit("/", 1)[0] + "/" + POSTGRES_DB
_pg_created = False
REDIS_URL = os.environ.get("TIDINGS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_SERVICES = os.environ.get("TIDINGS_REQUIRE_SERVICES") == "1"
# CLI subprocesses in tests unlock their profile's key store with this passphrase.
os.environ.setdefault("TIDINGS_PASSPHRASE", "test key store passphrase")


async def _postgres_available() -> bool:
    """Reachable? Also creates this process's own test database on first use."""
    global _pg_created
    if _pg_created:
        return True
    engine = create_async_engine(BASE_POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{POSTGRES_DB}"'))
            await conn.execute(text(f'CREATE DATABASE "{POSTGRES_DB}"'))
        _pg_created = True
        return True
    except (OSError, Exception):  # noqa: BLE001 - any failure means "not available"
        return False
    finally:
        await engine.dispose()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    schema_util.cleanup()
    if not _pg_created:
        return

    async def drop() -> None:
        engine = create_async_engine(BASE_POSTGRES_URL, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{POSTGRES_DB}" WITH (FORCE)'))
        finally:
            await engine.dispose()

    asyncio.run(drop())


async def reset_postgres() -> None:
    """Give a test an empty PostgreSQL schema (tests run one at a time)."""
    engine = create_async_engine(POSTGRES_URL)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def fresh_database(kind: str, tmp_path: Path, migrated: bool = False) -> str:
    """An empty database, or with ``migrated`` one at the newest revision (cheaply:
    tests/schema_util.py)."""
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'tidings.db'}"
        if migrated:
            await upgraded(url)
        return url
    if not await _postgres_available():
        if REQUIRE_SERVICES:
            pytest.fail(f"PostgreSQL is required but not reachable at {POSTGRES_URL}")
        pytest.skip("PostgreSQL not reachable")
    if migrated:
        await postgres_at_head(POSTGRES_URL, reset_postgres)
    else:
        await reset_postgres()
    return POSTGRES_URL


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def database(db_kind: str, tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(await fresh_database(db_kind, tmp_path, migrated=True))
    yield db
    await db.close()


async def redis_available() -> bool:
    import redis.asyncio as aioredis
    from redis.exceptions import RedisError

    client = aioredis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        return bool(await client.ping())
    except (RedisError, OSError):
        return False
    finally:
        await client.aclose()


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A fresh key prefix on the real Redis (skip, or fail under REQUIRE_SERVICES, if down);
    every key under it is deleted afterwards."""
    import secrets as _secrets

    import redis.asyncio as aioredis

    if not await redis_available():
        if REQUIRE_SERVICES:
            pytest.fail(f"Redis is required but not reachable at {REDIS_URL}")
        pytest.skip("Redis not reachable")
    prefix = f"tidings-test:{_secrets.token_hex(6)}:"
    yield prefix
    client = aioredis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        keys = [k async for k in client.scan_iter(match=prefix + "*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


CHEAP_PASSWORDS = {"password_memory_kib": "19456", "password_time_cost": "2"}
"""OWASP's argon2id floor instead of RFC 9106's 64 MiB x 3: suites register thousands of
accounts (test_config checks the default); servers the tests start inherit it."""
for _name, _value in CHEAP_PASSWORDS.items():
    os.environ.setdefault("TIDINGS_" + _name.upper(), _value)


def make_settings(tmp_path: Path, database_url: str = "", **overrides: Any) -> Settings:
    """Rate limits are off unless a test turns them on: suites register many users."""
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    overrides.setdefault("rate_limits", False)
    for name, value in CHEAP_PASSWORDS.items():
        overrides.setdefault(name, int(value))
    return load_settings(data, {}, database_url=database_url or None, **overrides)


@asynccontextmanager
async def running_app(settings: Settings, clock: Clock = system_clock
                      ) -> AsyncIterator[FastAPI]:
    await upgraded(settings.resolved_database_url)
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        yield app


AppFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def api(tmp_path: Path) -> AppFactory:
    """In-process API client factory: ``async with api() as client: ...``."""

    @asynccontextmanager
    async def factory(clock: Clock = system_clock, **overrides: Any
                      ) -> AsyncIterator[httpx.AsyncClient]:
        settings = make_settings(tmp_path, **overrides)
        async with running_app(settings, clock) as app:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                attach(client, app)
                yield client

    return factory


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    def __init__(self, app: FastAPI, port: int) -> None:
        self.app = app
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.server: uvicorn.Server | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                ws="websockets-sansio", lifespan="off", ws_ping_interval=None,
                                timeout_graceful_shutdown=3)
        self.server = uvicorn.Server(config)
        self.task = asyncio.create_task(self.server.serve())
        for _ in range(200):
            if self.server.started:
                return
            await asyncio.sleep(0.02)
        raise RuntimeError("uvicorn did not start")

    async def stop(self) -> None:
        if self.server is not None and self.task is not None:
            self.server.should_exit = True
            await self.task


@asynccontextmanager
async def live(settings: Settings, clock: Clock = system_clock) -> AsyncIterator[LiveServer]:
    """A real uvicorn on 127.0.0.1 serving a migrated app."""
    async with running_app(settings, clock) as app:
        server = LiveServer(app, free_port())
        await server.start()
        try:
            yield server
        finally:
            await server.stop()


@pytest.fixture
def live_server(tmp_path: Path) -> Callable[..., AbstractAsyncContextManager[LiveServer]]:
    def factory(clock: Clock = system_clock, **overrides: Any
                ) -> AbstractAsyncContextManager[LiveServer]:
        return live(make_settings(tmp_path, **overrides), clock)

    return factory


async def register(client: httpx.AsyncClient, username: str,
                   password: str = "a long enough passphrase", device: str = "phone"
                   ) -> dict[str, Any]:
    response = await client.post("/api/v1/accounts/register", json={
        "username": username, "password": password, "device_name": device})
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def login(client: httpx.AsyncClient, username: str,
                password: str = "a long enough passphrase", device: str = "laptop"
                ) -> dict[str, Any]:
    response = await client.post("/api/v1/accounts/login", json={
        "username": username, "password": password, "device_name": device})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def bearer(session: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['token']}"}

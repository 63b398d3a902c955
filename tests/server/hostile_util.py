"""A real server for the hostile-input tests, and the two things every such test asserts.

The server is ``tidings serve``'s own uvicorn configuration (server/serving.py: the
guarded HTTP protocol, the WebSocket frame limit) in a thread of its own, so tests can
speak raw bytes to it from their event loop without blocking it. One serves the whole
run and tests share a few accounts (a password hash costs real time); each test checks
what it changed by comparing :func:`snapshot` before and after (row counts of every
table, every file under the blob stores), so "nothing stored half-way" is checked
across the whole database.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from tests.conftest import free_port, make_settings
from tidings.config import Settings
from tidings.server import secrets
from tidings.server.app import create_app
from tidings.server.serving import uvicorn_config
from tidings.services.accounts import AccountService
from tidings.services.clock import system_clock
from tidings.services.names import reserved_names
from tidings.storage import migrate
from tidings.storage.accounts import AccountStore
from tidings.storage.database import Database

PASSWORD = "a long enough passphrase"
HEADER_TIMEOUT_S = 1
"""The slowloris deadline the test server runs with (production: 10 s)."""
BODY_TIMEOUT_S = 1
KEEP_ALIVE_S = 3
"""Idle keep-alive connections close after this (production: 5 s)."""


@dataclass
class HostileServer:
    settings: Settings
    port: int
    server: uvicorn.Server
    thread: threading.Thread
    users: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/v1/ws"

    @property
    def data(self) -> Path:
        return self.settings.data_dir

    def user(self, name: str) -> dict[str, str]:
        """A registered account's bearer header, made once per module and name (a
        password hash costs real time; most tests only need someone to be)."""
        if name not in self.users:
            r = httpx.post(self.url + "/api/v1/accounts/register", timeout=30, json={
                "username": name, "password": PASSWORD, "device_name": "phone"})
            assert r.status_code == 201, r.text
            self.users[name] = {"Authorization": f"Bearer {r.json()['token']}"}
        return self.users[name]

    async def create_staff(self, name: str, role: str) -> None:
        """A staff account, made as ``tidings admin create-user`` makes one."""
        db = Database(self.settings.resolved_database_url)
        try:
            accounts = AccountService(db, AccountStore(),
                                      secrets.load_or_create(self.data).token_pepper,
                                      system_clock, reserved_names(()))
            await accounts.create_user(name, PASSWORD, role, check_reserved=False)
        finally:
            await db.close()

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=10, **kwargs)

    def snapshot(self) -> dict[str, Any]:
        """Rows per table and the files of the blob stores: what a request may change."""
        db = sqlite3.connect(self.data / "tidings.db")
        try:
            tables = [r[0] for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
            counts = {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]  # noqa: S608
                      for t in tables}
        finally:
            db.close()
        files = sorted(str(p.relative_to(self.data)) for sub in ("blobs", "attachments")
                       if (self.data / sub).exists()
                       for p in (self.data / sub).rglob("*") if p.is_file())
        return {"rows": counts, "files": files}


def _start(settings: Settings) -> HostileServer:
    async def upgrade() -> None:
        db = Database(settings.resolved_database_url)
        await migrate.upgrade(db)
        await db.close()

    asyncio.run(upgrade())
    port = free_port()
    config = uvicorn_config(create_app(settings), settings, host="127.0.0.1", port=port,
                            log_level="warning", loop="asyncio", ws_ping_interval=None,
                            timeout_keep_alive=KEEP_ALIVE_S, timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="hostile-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the hostile-input test server did not start")
        time.sleep(0.02)
    return HostileServer(settings, port, server, thread)


_shared: list[HostileServer] = []


@pytest.fixture(scope="module", name="hostile")
def hostile_fixture(tmp_path_factory: pytest.TempPathFactory,
                    request: pytest.FixtureRequest) -> HostileServer:
    """One server for all hostile-input modules of a test run (started on first use,
    stopped when the run ends): tests are independent through their snapshots."""
    if not _shared:
        settings = make_settings(tmp_path_factory.mktemp("hostile"),
                                 request_header_timeout_s=HEADER_TIMEOUT_S,
                                 request_body_timeout_s=BODY_TIMEOUT_S)
        running = _start(settings)
        _shared.append(running)

        def stop() -> None:
            running.server.should_exit = True
            running.thread.join(10)
            _shared.clear()

        request.config.add_cleanup(stop)
    return _shared[0]


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> None:
    """A clear 4xx in the one error shape: ``{"error": {"code", "message"}}``."""
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body


def parse_raw(raw: bytes) -> tuple[int, dict[str, Any]]:
    """Status and JSON body of a raw HTTP/1.1 answer (the one error shape)."""
    head, _, rest = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    fields = dict(line.lower().split(b": ", 1) for line in lines[1:] if b": " in line)
    body = rest[:int(fields.get(b"content-length", len(rest)))]
    return status, json.loads(body) if body else {}


async def raw_exchange(port: int, data: bytes | list[bytes], pause_s: float = 0.0,
                       read_timeout_s: float = 10.0) -> tuple[bytes, float]:
    """Send bytes (pieces ``pause_s`` apart) while reading; the answer up to EOF (or
    what came before a reset) and the seconds until the server closed."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    received = bytearray()

    async def read_all() -> float:
        try:
            while chunk := await reader.read(65536):
                received.extend(chunk)
        except ConnectionError:
            pass
        return time.monotonic() - started

    reading = asyncio.create_task(read_all())
    try:
        for piece in [data] if isinstance(data, bytes) else data:
            if reading.done():
                break  # the server answered and closed
            try:
                writer.write(piece)
                await writer.drain()
            except ConnectionError:
                break
            if pause_s:
                await asyncio.wait([reading], timeout=pause_s)
        elapsed = await asyncio.wait_for(reading, read_timeout_s)
        return bytes(received), elapsed
    finally:
        reading.cancel()
        writer.close()


async def account(client: httpx.AsyncClient, name: str) -> dict[str, str]:
    """Register ``name``; the bearer header of its first device."""
    r = await client.post("/api/v1/accounts/register", json={
        "username": name, "password": PASSWORD, "device_name": "phone"})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}

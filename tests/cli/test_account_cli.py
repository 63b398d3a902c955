"""The account and operator commands, run as a person would run them."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import httpx
from typer.testing import CliRunner

import tidings as pkg
from tests.cli.helpers import SRC, tidings
from tests.conftest import LiveServer, free_port
from tidings.cli.main import app

Live = Callable[..., AbstractAsyncContextManager[LiveServer]]
PASSWORD = "a long enough passphrase\n"


async def test_version() -> None:
    result = await tidings("--version")
    assert result.code == 0
    assert result.out.strip() == f"tidings {pkg.__version__}"


async def test_register_login_devices_logout(live_server: Live, tmp_path: Path) -> None:
    async with live_server() as server:
        env = {"TIDINGS_SERVER": server.url}
        one, two = str(tmp_path / "one"), str(tmp_path / "two")
        r = await tidings("account", "register", "alice", "--password-stdin", "--profile", one,
                          "--json", stdin=PASSWORD, env=env)
        assert r.code == 0, r.err
        first = json.loads(r.out)
        assert first["username"] == "alice"
        assert "token" not in first
        assert (Path(one) / "profile.json").stat().st_mode & 0o777 == 0o600
        r = await tidings("account", "login", "alice", "--password-stdin", "--device-name",
                          "laptop", "--json", stdin=PASSWORD,
                          env={**env, "TIDINGS_PROFILE": two})
        assert r.code == 0, r.err
        r = await tidings("account", "devices", "--profile", one, "--json", env=env)
        devices = json.loads(r.out)
        assert len(devices) == 2
        assert [d["current"] for d in devices if d["id"] == first["device_id"]] == [True]
        r = await tidings("account", "logout", "--profile", two, env=env)
        assert r.code == 0
        r = await tidings("account", "devices", "--profile", two, env=env)
        assert r.code == 1
        assert "no login in profile" in r.err
        r = await tidings("account", "login", "alice", "--password-stdin", "--profile", two,
                          stdin="wrong password here\n", env=env)
        assert r.code == 1
        assert "bad_credentials" in r.err


async def test_weak_password_is_a_clear_error(live_server: Live, tmp_path: Path) -> None:
    async with live_server() as server:
        r = await tidings("account", "register", "bob", "--password-stdin", "--server",
                          server.url, "--profile", str(tmp_path / "p"), stdin="password123\n")
        assert r.code == 1
        assert "weak_password" in r.err
        assert "Traceback" not in r.err


async def test_serve_starts_on_a_new_data_directory(tmp_path: Path) -> None:
    """The first `tidings serve` creates the database; a later one on a schema from
    another version refuses to start and says what to do."""
    data, port = tmp_path / "new", free_port()
    env = {**os.environ, "PYTHONPATH": SRC, "NO_COLOR": "1"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tidings.cli", "serve", "--data", str(data), "--port", str(port),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=env)
    try:
        async with httpx.AsyncClient() as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert proc.returncode is None and time.monotonic() < deadline
                await asyncio.sleep(0.1)
    finally:
        proc.terminate()
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert b"created the database in" in out
    with sqlite3.connect(data / "tidings.db") as db:
        db.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    r = await asyncio.to_thread(CliRunner().invoke, app, ["serve", "--data", str(data)])
    assert r.exit_code == 3, r.output
    assert "error (schema_mismatch): the database schema (9999_from_the_future) is newer" \
        in r.stderr


async def test_operator_commands(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    r = await tidings("db", "upgrade", "--data", data)
    assert r.code == 0, r.err
    r = await tidings("db", "status", "--data", data, "--json")
    assert json.loads(r.out)["up_to_date"] is True
    r = await tidings("admin", "ensure-admin", "--data", data)
    assert "password:" in r.out
    r = await tidings("admin", "ensure-admin", "--data", data)
    assert "exists already" in r.out
    r = await tidings("admin", "create-user", "mod_anna", "--role", "moderator",
                      "--password-stdin", "--data", data, "--json", stdin=PASSWORD)
    assert json.loads(r.out) == {"username": "mod_anna", "role": "moderator"}
    r = await tidings("admin", "create-user", "x", "--role", "emperor", "--password-stdin",
                      "--data", data, stdin=PASSWORD)
    assert r.code == 1
    r = await tidings("admin", "set-password", "mod_anna", "--password-stdin", "--data", data,
                      stdin="another long passphrase\n")
    assert r.code == 0, r.err

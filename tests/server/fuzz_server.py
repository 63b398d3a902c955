"""A real ``tidings serve`` process with a user, an admin and a few objects, for fuzzing.

The fuzzer's authenticated operations should reach real code, not stop at 404 for every
object: so the user owns a channel with posts and a group, and staff routes are called
with the admin's token.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import free_port
from tests.server.fuzz_staff_rules import SERVER_ENV
from tidings.config import load_settings
from tidings.server import secrets
from tidings.services.accounts import AccountService
from tidings.services.clock import system_clock
from tidings.services.names import reserved_names
from tidings.storage import migrate
from tidings.storage.accounts import AccountStore
from tidings.storage.database import Database

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a long enough passphrase"
ADMIN = "fuzzadmin"
USER = "fuzzuser"
CHANNEL = "fuzzchan"
READY_TIMEOUT_S = 90.0


@dataclass
class FuzzServer:
    data: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    user_token: str = ""
    admin_token: str = ""
    objects: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ,
                "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
                "TIDINGS_RATE_LIMITS": "false", "TIDINGS_LOG_LEVEL": "warning",
                **SERVER_ENV}

    async def _prepare(self) -> None:
        """What ``tidings db upgrade`` and ``tidings admin create-user`` do, in-process
        (two CLI start-ups cost seconds on a busy machine)."""
        settings = load_settings(self.data, {})
        db = Database(settings.resolved_database_url)
        try:
            await migrate.upgrade(db)
            accounts = AccountService(db, AccountStore(),
                                      secrets.load_or_create(self.data).token_pepper,
                                      system_clock, reserved_names(()))
            await accounts.create_user(ADMIN, PASSWORD, "admin", check_reserved=False)
        finally:
            await db.close()

    def start(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        asyncio.run(self._prepare())
        log = (self.data.parent / "serve.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tidings.cli", "serve", "--data", str(self.data),
             "--port", str(self.port)], env=self.env, cwd=ROOT, stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tidings serve exited: {self.log()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError(f"tidings serve not ready: {self.log()}")
        self.populate()

    def log(self) -> str:
        path = self.data.parent / "serve.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def login(self, username: str, device: str = "fuzz") -> str:
        r = httpx.post(self.url + "/api/v1/accounts/login", json={
            "username": username, "password": PASSWORD, "device_name": device}, timeout=30)
        r.raise_for_status()
        return str(r.json()["token"])

    def populate(self) -> None:
        """A user with a channel, posts, a group; an admin; a second user to share with."""
        with httpx.Client(base_url=self.url, timeout=30) as http:
            for name in (USER, "fuzzfriend"):
                r = http.post("/api/v1/accounts/register", json={
                    "username": name, "password": PASSWORD, "device_name": "phone"})
                r.raise_for_status()
                if name == USER:
                    self.user_token = r.json()["token"]
            self.admin_token = self.login(ADMIN)
            auth = {"Authorization": f"Bearer {self.user_token}"}
            r = http.post("/api/v1/channels", headers=auth, json={
                "handle": CHANNEL, "title": "Fuzz channel", "description": "for the fuzzer"})
            r.raise_for_status()
            posts, numbers = [], []
            for i in range(3):
                r = http.post(f"/api/v1/channels/{CHANNEL}/posts", headers=auth,
                              json={"text": f"post {i}"})
                r.raise_for_status()
                numbers.append(r.json()["number"])
                r = http.get(f"/api/v1/channels/{CHANNEL}/posts/{numbers[-1]}",
                             headers={"Authorization": f"Bearer {self.admin_token}"})
                r.raise_for_status()
                posts.append(r.json()["id"])  # the internal id: staff see it
            r = http.post("/api/v1/groups", headers=auth,
                          json={"title": "fuzz group", "members": ["fuzzfriend"]})
            r.raise_for_status()
            self.objects = {"posts": posts, "numbers": numbers, "group": r.json()}

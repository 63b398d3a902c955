"""The demo's server: `tidings serve` in a subprocess on a fresh SQLite database.

The operator's steps come first, in this process and through the same code as
`tidings db upgrade` and `tidings admin create-user`: migrate the schema and create
the staff accounts (an admin and a moderator, with random passwords). Then the real
server starts as its own process, so everything after goes over HTTP and WebSocket
and the database file is read from the outside, as anyone on the host could.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from tidings.config import load_settings
from tidings.demo.narrator import DemoFailed
from tidings.kernel import open_kernel

HOST = "127.0.0.1"
DEFAULT_PORT = 8080
READY_TIMEOUT_S = 40.0
STOP_TIMEOUT_S = 10.0
LOG_FILE = "server.log"
DB_FILE = "tidings.db"
ADMIN = "admin"
MODERATOR = "maria"


@dataclass(frozen=True)
class Staff:
    username: str
    role: str
    password: str


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def pick_port(requested: int | None) -> int:
    """The port asked for (it must be free), else 8080 if free, else any free port."""
    if requested is not None and requested != 0:
        if not port_free(requested):
            raise DemoFailed(f"port {requested} on {HOST} is in use; pick another with --port")
        return requested
    if requested is None and port_free(DEFAULT_PORT):
        return DEFAULT_PORT
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _clean_env() -> dict[str, str]:
    """The caller's environment without TIDINGS_* settings: a TIDINGS_DATABASE_URL
    pointing at a production PostgreSQL must never reach the demo's server."""
    return {k: v for k, v in os.environ.items() if not k.startswith("TIDINGS_")}


class DemoServer:
    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir
        self.port = port
        self.url = f"http://{HOST}:{port}"
        self.staff: dict[str, Staff] = {}
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def db_path(self) -> Path:
        return self.data_dir / DB_FILE

    @property
    def log_path(self) -> Path:
        return self.data_dir / LOG_FILE

    async def prepare(self) -> None:
        """Migrate a fresh database and create the staff accounts (operator steps)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        settings = load_settings(self.data_dir, {})
        async with open_kernel(settings, upgrade=True) as kernel:
            for name, role in ((ADMIN, "admin"), (MODERATOR, "moderator")):
                password = secrets.token_urlsafe(12)
                await kernel.accounts.create_user(name, password, role, check_reserved=False)
                self.staff[role] = Staff(name, role, password)

    async def start(self) -> None:
        """Start `tidings serve` and wait until ``/readyz`` answers 200."""
        env = {**_clean_env(), "TIDINGS_LOG_LEVEL": "warning"}
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tidings.cli", "serve", "--data", str(self.data_dir),
             "--host", HOST, "--port", str(self.port)],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, env=env,
            start_new_session=True)  # Ctrl-C in the terminal reaches the demo, which stops it
        deadline = time.monotonic() + READY_TIMEOUT_S
        async with httpx.AsyncClient(base_url=self.url, timeout=2.0) as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise DemoFailed(f"the server exited with code {self.process.returncode} "
                                     "while starting")
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise DemoFailed(f"the server did not become ready in {READY_TIMEOUT_S:.0f} s; "
                         f"see {self.log_path}")

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait(self) -> int:
        """Block until the server process ends (Ctrl-C interrupts); its exit code."""
        if self.process is None:
            return 0
        return self.process.wait()

    def stop(self) -> None:
        """SIGTERM (uvicorn drains and exits), then SIGKILL if it does not."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

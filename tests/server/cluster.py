"""Three real ``tidings serve`` OS processes on one PostgreSQL database and one Redis.

Used by ``test_multiprocess.py``. The processes share a data directory (secrets and
blobs, as on a shared volume), a database URL, a Redis URL and a Redis key prefix, and
nothing else: they find each other only through PostgreSQL and Redis.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import REDIS_URL, free_port

ROOT = Path(__file__).resolve().parents[2]
ADMIN = "scaleadmin"
PASSWORD = "a long enough passphrase"
READY_TIMEOUT_S = 90.0
"""Imports alone take 25 s on a 2-core machine at load 15 (measured)."""


class Cluster:
    def __init__(self, data: Path, database_url: str, redis_prefix: str, size: int = 3,
                 redis_url: str = REDIS_URL) -> None:
        self.data = data
        self.logs = data.parent / "logs"
        self.logs.mkdir(exist_ok=True)
        self.env = {**os.environ,
                    "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
                    "TIDINGS_DATABASE_URL": database_url,
                    "TIDINGS_REDIS_URL": redis_url,
                    "TIDINGS_REDIS_PREFIX": redis_prefix,
                    "TIDINGS_RATE_LIMITS": "false",
                    "TIDINGS_LOG_LEVEL": "warning"}
        self.ports = [free_port() for _ in range(size)]
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * size

    def url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.ports[i]}"

    def cli(self, *args: str, stdin: bytes = b"") -> str:
        done = subprocess.run([sys.executable, "-m", "tidings.cli", *args,
                               "--data", str(self.data)], env=self.env, cwd=ROOT,
                              input=stdin, capture_output=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"tidings {' '.join(args)} failed: {done.stderr.decode()}")
        return done.stdout.decode()

    def setup(self) -> None:
        """``tidings db upgrade`` once, an admin account, then every process."""
        self.cli("db", "upgrade")
        self.cli("admin", "create-user", ADMIN, "--role", "admin", "--password-stdin",
                 stdin=PASSWORD.encode() + b"\n")
        for i in range(len(self.procs)):
            self.start(i, wait=False)
        for i in range(len(self.procs)):
            self.wait_ready(i)

    def start(self, i: int, *, wait: bool = True) -> None:
        log = (self.logs / f"serve-{i}.log").open("ab")
        self.procs[i] = subprocess.Popen(
            [sys.executable, "-m", "tests.server.multiprocess_serve", "serve",
             "--data", str(self.data), "--port", str(self.ports[i])],
            env=self.env, cwd=ROOT, stdout=log, stderr=log)
        log.close()
        if wait:
            self.wait_ready(i)

    def wait_ready(self, i: int) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        proc = self.procs[i]
        assert proc is not None
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"process {i} exited: {self.log(i)}")
            try:
                if httpx.get(self.url(i) + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"process {i} not ready: {self.log(i)}")

    def kill(self, i: int) -> None:
        """SIGKILL: no clean shutdown, no goodbye frames, leases left to expire."""
        proc = self.procs[i]
        assert proc is not None
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def terminate(self, i: int) -> None:
        """SIGTERM, as a deploy stops a process: uvicorn shuts down cleanly."""
        proc = self.procs[i]
        assert proc is not None
        proc.terminate()
        proc.wait(30)

    def index_of(self, pid: int) -> int:
        return [p.pid if p is not None else -1 for p in self.procs].index(pid)

    def alive(self, i: int) -> bool:
        proc = self.procs[i]
        return proc is not None and proc.poll() is None

    def log(self, i: int) -> str:
        path = self.logs / f"serve-{i}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            if proc is not None:
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


class PrivateRedis:
    """A redis-server of our own on a free port (no persistence), so a test may restart
    it without disturbing anyone else using the machine's shared Redis."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        subprocess.run(["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1",
                        "--port", str(self.port), "--save", "", "--appendonly", "no"],
                       check=True, capture_output=True)
        deadline = time.monotonic() + 10
        while not self.up():
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), "shutdown",
                        "nosave"], check=False, capture_output=True)
        deadline = time.monotonic() + 10
        while self.up() and time.monotonic() < deadline:
            time.sleep(0.05)

    def up(self) -> bool:
        import socket

        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

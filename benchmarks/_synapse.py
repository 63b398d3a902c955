"""Matrix Synapse as a benchmark peer: install, configure, start, register, measure.

Synapse goes into its own virtual environment (``benchmarks/.synapse-venv``), never into
Tidings' dependencies. It runs on SQLite bound to 127.0.0.1 with presence off and rate
limits raised out of the way, so what is measured is the server's relay path.
A sender PUTs ``m.room.message`` events into a room shared with a receiver, which
long-polls ``/sync`` with a large timeline limit; latency is send-start to receipt.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
VENV = HERE / ".synapse-venv"
SYNAPSE_SPEC = "matrix-synapse"
BIG = {"per_second": 1_000_000, "burst_count": 1_000_000}
PASSWORD = "benchmark password 1"


@dataclass
class Figures:
    messages: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


def ensure_installed() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    probe = subprocess.run([str(python), "-c", "import synapse"], capture_output=True,
                           check=False)
    if probe.returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "-q", SYNAPSE_SPEC], check=True)
    return python


def configure(python: Path, workdir: Path, port: int) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "homeserver.yaml"
    subprocess.run([str(python), "-m", "synapse.app.homeserver", "--server-name", "localhost",
                    "--config-path", str(config), "--generate-config", "--report-stats=no"],
                   cwd=workdir, check=True, capture_output=True)
    overrides = {
        "listeners": [{"port": port, "bind_addresses": ["127.0.0.1"], "type": "http",
                       "tls": False, "x_forwarded": False,
                       "resources": [{"names": ["client"], "compress": False}]}],
        "database": {"name": "sqlite3", "args": {"database": str(workdir / "homeserver.db")}},
        "enable_registration": True,
        "enable_registration_without_verification": True,
        "presence": {"enabled": False},
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "rc_message": BIG,
        "rc_registration": BIG,
        "rc_login": {"address": BIG, "account": BIG, "failed_attempts": BIG},
        "rc_joins": {"local": BIG, "remote": BIG},
        "rc_invites": {"per_room": BIG, "per_user": BIG, "per_issuer": BIG},
        "rc_3pid_validation": BIG,
    }
    script = ("import json,sys,yaml;p=sys.argv[1];c=yaml.safe_load(open(p));"
              "c.update(json.loads(sys.argv[2]));yaml.safe_dump(c,open(p,'w'))")
    subprocess.run([str(python), "-c", script, str(config), json.dumps(overrides)], check=True)
    log_config = workdir / "localhost.log.config"
    if log_config.exists():
        log_config.write_text(log_config.read_text().replace("level: INFO", "level: WARNING"))
    return config


async def start(python: Path, config: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([str(python), "-m", "synapse.app.homeserver", "-c", str(config)],
                            cwd=config.parent, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            try:
                r = await client.get(f"http://127.0.0.1:{port}/_matrix/client/versions")
                if r.status_code == 200:
                    return proc
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    proc.kill()
    raise RuntimeError("synapse did not start")


async def register(client: httpx.AsyncClient, name: str) -> str:
    body: dict[str, Any] = {"username": name, "password": PASSWORD,
                            "auth": {"type": "m.login.dummy"}}
    r = await client.post("/_matrix/client/v3/register", json=body)
    if r.status_code == 401:
        body["auth"]["session"] = r.json()["session"]
        r = await client.post("/_matrix/client/v3/register", json=body)
    r.raise_for_status()
    return str(r.json()["access_token"])


async def measure_senders(port: int, n: int, concurrency: int, body_size: int) -> Figures:
    """C closed-loop senders, each in its own 1:1 room with the one receiver (as the
    Tidings SDK benchmark's C conversations): the next PUT starts when the previous one
    was answered. The receiver long-polls ``/sync`` over all the rooms."""
    base = f"http://127.0.0.1:{port}"
    limits = httpx.Limits(max_connections=concurrency + 4)
    tag = f"{os.getpid()}x{time.monotonic_ns() % 10**6}"
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        bob = await register(client, f"bob{tag}")
        hb = {"Authorization": f"Bearer {bob}"}
        rooms: list[tuple[dict[str, str], str]] = []
        for i in range(concurrency):
            alice = {"Authorization": f"Bearer {await register(client, f'a{i}n{tag}')}"}
            r = await client.post("/_matrix/client/v3/createRoom", headers=alice, json={
                "preset": "private_chat", "invite": [f"@bob{tag}:localhost"],
                "is_direct": True})
            room = r.json()["room_id"]
            (await client.post(f"/_matrix/client/v3/rooms/{room}/join",
                               headers=hb)).raise_for_status()
            rooms.append((alice, room))
        flt = json.dumps({"room": {"timeline": {"limit": 10_000}},
                          "presence": {"types": []}, "account_data": {"types": []}})
        r = await client.get("/_matrix/client/v3/sync", headers=hb, params={"filter": flt})
        since = r.json()["next_batch"]
        per = max(1, n // concurrency)
        total = per * concurrency
        sent: dict[str, float] = {}
        got: dict[str, float] = {}
        done = asyncio.Event()

        async def receiver() -> None:
            nonlocal since
            while len(got) < total:
                r = await client.get("/_matrix/client/v3/sync", headers=hb, params={
                    "filter": flt, "since": since, "timeout": 30_000})
                data = r.json()
                since = data["next_batch"]
                now = time.perf_counter()
                for joined in data.get("rooms", {}).get("join", {}).values():
                    for event in joined.get("timeline", {}).get("events", []):
                        head = event.get("content", {}).get("body", "").split("|", 1)[0]
                        if head.startswith("m"):
                            got.setdefault(head, now)
            done.set()

        async def sender(index: int, headers: dict[str, str], room: str) -> None:
            for k in range(per):
                key = f"m{index}.{k}"
                text = f"{key}|" + "x" * max(0, body_size - len(key) - 1)
                sent[key] = time.perf_counter()
                r = await client.put(
                    f"/_matrix/client/v3/rooms/{room}/send/m.room.message/t{index}.{k}",
                    headers=headers, json={"msgtype": "m.text", "body": text})
                r.raise_for_status()

        recv_task = asyncio.create_task(receiver())
        start_t = time.perf_counter()
        await asyncio.gather(*(sender(i, h, room) for i, (h, room) in enumerate(rooms)))
        await asyncio.wait_for(done.wait(), timeout=600)
        await recv_task
        end_t = max(got.values())
    latencies = sorted((got[k] - sent[k]) * 1000 for k in sent)
    return Figures(total, end_t - start_t, statistics.median(latencies),
                   latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))])

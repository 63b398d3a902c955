"""Scale-out benchmark: private-message throughput with 1, 2 and 3 ``tidings serve``
processes on one PostgreSQL and one Redis, side by side in one run.

For each process count N it creates a fresh PostgreSQL database, runs ``tidings db
upgrade``, starts N real ``tidings serve`` processes (same data directory, same Redis
URL, a Redis key prefix of the run's own), and drives them with the client machinery
of ``private_relay.py``: real device keys, real Olm ciphertexts re-sent over WebSocket
``send`` frames, receivers holding live streams and acknowledging cumulatively.
Receiver i connects to process i mod N and its sender to process (i + 1) mod N, so with
N >= 2 **every message crosses processes through Redis**. N = 1 also runs with Redis,
so the only thing that changes between columns is the number of processes. Rate limits
are off (a load generator registers many accounts from one address and sends far above
one device's ``RATE_SEND``).

**Read the figures with the machine in mind**: the servers, PostgreSQL, Redis and this
load generator share the machine's cores (``os.cpu_count()`` is printed). On 2 cores
more processes cannot add CPU; what the run shows there is the cost of crossing
processes, not a speed-up.

    PYTHONPATH=src python benchmarks/scale_out.py
    PYTHONPATH=src python benchmarks/scale_out.py --processes 1 2 3 --pairs 24 --messages 300
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from _report import result
from private_relay import Receiver, Sender, ciphertexts, cpu_seconds, enroll, free_port, pct

BASE_DB = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


async def fresh_database(base: str, name: str) -> str:
    engine = create_async_engine(base, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await engine.dispose()
    return base.rsplit("/", 1)[0] + "/" + name


async def drop_database(base: str, name: str) -> None:
    engine = create_async_engine(base, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await engine.dispose()


Cluster = list[tuple[str, subprocess.Popen[bytes]]]


def start_cluster(data: Path, n: int, env: dict[str, str]) -> Cluster:
    exe = str(Path(sys.executable).with_name("tidings"))
    subprocess.run([exe, "db", "upgrade", "--data", str(data)], env=env, check=True,
                   capture_output=True)
    out = []
    for _ in range(n):
        port = free_port()
        proc = subprocess.Popen([exe, "serve", "--data", str(data), "--port", str(port)],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out.append((f"http://127.0.0.1:{port}", proc))
    return out


async def wait_ready(url: str) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(600):
            try:
                if (await http.get(f"{url}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not become ready")


async def bench(args: argparse.Namespace, urls: list[str], pids: list[int]) -> dict[str, Any]:
    n = len(urls)
    run = secrets.token_hex(3)
    async with httpx.AsyncClient(base_url=urls[0], timeout=60) as http:
        senders = [await enroll(http, f"snd{run}x{i}") for i in range(args.pairs)]
        receivers = [await enroll(http, f"rcv{run}x{i}") for i in range(args.pairs)]
        pairs = []
        for s, r in zip(senders, receivers, strict=True):
            cts, commitment = await ciphertexts(http, s, r)
            pairs.append((s[0], r[0], cts, commitment))
    received: dict[str, float] = {}
    stop = asyncio.Event()
    rx = [Receiver(r, received) for _, r, _, _ in pairs]
    readies = [asyncio.Event() for _ in rx]
    rx_tasks = [asyncio.create_task(r.run(urls[i % n], e, stop))
                for i, (r, e) in enumerate(zip(rx, readies, strict=True))]
    await asyncio.gather(*(e.wait() for e in readies))
    tx = [Sender(s, r["username"], r["device_id"], cts, c) for s, r, cts, c in pairs]
    cpu_before = [cpu_seconds(p) for p in pids]
    client_before = time.process_time()
    await asyncio.gather(*(t.run(urls[(i + 1) % n], args.messages, args.window, None, None)
                           for i, t in enumerate(tx)))
    expected = sum(len(t.ids) for t in tx)
    for _ in range(1200):
        if len(received) >= expected:
            break
        await asyncio.sleep(0.05)
    cpu = [cpu_seconds(p) - b for p, b in zip(pids, cpu_before, strict=True)]
    client_cpu = time.process_time() - client_before
    stop.set()
    await asyncio.gather(*rx_tasks, return_exceptions=True)
    latencies = [(received[mid] - t.sent_at[ref]) * 1000 for t in tx
                 for mid, ref in t.ids.items() if mid in received]
    first = min(min(t.sent_at.values()) for t in tx)
    last = max(received.values()) if received else first
    count = max(1, len(received))
    return {"processes": n, "pairs": args.pairs,
            "sent": sum(len(t.sent_at) for t in tx), "acknowledged": expected,
            "received": len(received), "errors": sum(t.errors for t in tx),
            "crossed_processes": expected if n > 1 else 0,
            "messages_per_s": round(len(received) / max(1e-9, last - first), 1),
            "p50_ms": round(statistics.median(latencies), 2) if latencies else None,
            "p99_ms": round(pct(latencies, 99), 2),
            "server_cpu_ms_per_message": round(sum(cpu) * 1000 / count, 3),
            "server_cpu_s_per_process": [round(c, 2) for c in cpu],
            "client_cpu_ms_per_message": round(client_cpu * 1000 / count, 3)}


def run_one(args: argparse.Namespace, n: int) -> dict[str, Any]:
    name = f"tidings_scale_bench_{os.getpid()}_{n}"
    database_url = asyncio.run(fresh_database(args.postgres_admin_url, name))
    prefix = f"tidings-bench:{secrets.token_hex(4)}:"
    env = {**os.environ, "TIDINGS_LOG_LEVEL": "warning", "TIDINGS_DATABASE_URL": database_url,
           "TIDINGS_REDIS_URL": args.redis_url, "TIDINGS_REDIS_PREFIX": prefix,
           # Off: 2 x pairs registrations from one address, and senders far above
           # RATE_SEND's per-device rate, are the load generator, not abuse.
           "TIDINGS_RATE_LIMITS": "false"}
    load_before = os.getloadavg()[0]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            procs = start_cluster(Path(tmp), n, env)
            try:
                import uvloop

                async def go() -> dict[str, Any]:
                    await asyncio.gather(*(wait_ready(u) for u, _ in procs))
                    return await bench(args, [u for u, _ in procs], [p.pid for _, p in procs])

                out = uvloop.run(go())
            finally:
                for _, proc in procs:
                    proc.terminate()
                for _, proc in procs:
                    proc.wait(15)
    finally:
        asyncio.run(drop_database(args.postgres_admin_url, name))
        asyncio.run(_clear_redis(args.redis_url, prefix))
    out["loadavg_1m"] = {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)}
    return out


async def _clear_redis(url: str, prefix: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    try:
        keys = [k async for k in client.scan_iter(match=prefix + "*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--pairs", type=int, default=24, help="senders (= receivers)")
    parser.add_argument("--messages", type=int, default=300, help="per sender")
    parser.add_argument("--window", type=int, default=32, help="unanswered sends per sender")
    parser.add_argument("--postgres-admin-url", default=BASE_DB,
                        help="a PostgreSQL URL allowed to CREATE DATABASE (one per column)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    command = "PYTHONPATH=src python " + shlex.join(sys.argv)
    print(f"command: {command}")
    print(f"cpus: {os.cpu_count()} (servers, PostgreSQL, Redis and this client share them)")
    rows = [run_one(args, n) for n in args.processes]
    for row in rows:
        print(json.dumps(row))
    print(f"{'processes':>9} {'msg/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'srv cpu ms/msg':>15} "
          f"{'received/sent':>14} {'load':>11}")
    for row in rows:
        print(f"{row['processes']:>9} {row['messages_per_s']:>8} {row['p50_ms']:>8} "
              f"{row['p99_ms']:>8} {row['server_cpu_ms_per_message']:>15} "
              f"{row['received']:>7}/{row['sent']:<6} "
              f"{row['loadavg_1m']['before']:>5}->{row['loadavg_1m']['after']:<5}")
    for row in rows:
        n = row["processes"]
        result(f"scale_out_{n}p_messages_per_s", row["messages_per_s"], "messages/s")
        result(f"scale_out_{n}p_p99_ms", row["p99_ms"], "ms")
        result(f"scale_out_{n}p_server_cpu_ms_per_message", row["server_cpu_ms_per_message"],
               "ms")
        if row["received"] != row["acknowledged"] or row["errors"]:
            print(f"LOSS at {n} processes: {row}", file=sys.stderr)
            sys.exit(1)


if __name__ == "__main__":
    main()

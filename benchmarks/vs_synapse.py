"""Tidings side by side with Matrix Synapse, on the same machine, in one run.

Both servers get the same work: two users, the same number of 1:1 messages, the same
sender concurrency and the same payload size.

- **Synapse** (installed into ``benchmarks/.synapse-venv``, SQLite, presence off, rate
  limits out of the way): the sender PUTs ``m.room.message`` events whose body is as
  long as Tidings' Olm ciphertext; the receiver long-polls ``/sync`` with a large
  timeline limit.
- **Tidings** (SQLite with synchronous=FULL, then PostgreSQL): the sender sends real Olm
  ciphertexts over its WebSocket (``send`` frames, answered after group commit); the
  receiver holds its WebSocket stream and acknowledges.

Latency is from the start of a send to its receipt by the receiving client.

    PYTHONPATH=src python benchmarks/vs_synapse.py --messages 2000 --concurrency 20
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _synapse  # noqa: E402
import private_relay  # noqa: E402
from _report import command, result  # noqa: E402

POSTGRES_ADMIN = os.environ.get("TIDINGS_TEST_POSTGRES_URL",
                                "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


def tidings_run(messages: int, concurrency: int, database_url: str | None) -> dict[str, Any]:
    args = argparse.Namespace(pairs=1, messages=messages, window=concurrency, rate=0,
                              duration=10, database_url=database_url)
    with tempfile.TemporaryDirectory() as tmp:
        port = private_relay.free_port()
        server = private_relay.start_server(Path(tmp), port, database_url)
        url = f"http://127.0.0.1:{port}"
        try:
            async def run() -> dict[str, Any]:
                await private_relay.wait_up(url)
                return await private_relay.bench(args, url, server.pid)

            return asyncio.run(run())
        finally:
            server.terminate()
            server.wait(10)


async def _pg(statement: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


def synapse_run(messages: int, concurrency: int, body_size: int) -> _synapse.Figures:
    python = _synapse.ensure_installed()
    with tempfile.TemporaryDirectory() as tmp:
        port = private_relay.free_port()
        config = _synapse.configure(python, Path(tmp), port)

        async def run() -> _synapse.Figures:
            proc = await _synapse.start(python, config, port)
            try:
                return await _synapse.measure(port, messages, concurrency, body_size)
            finally:
                proc.terminate()
                proc.wait(20)

        return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    command()
    print(f"machine: {os.cpu_count()} cores; load before {os.getloadavg()[0]:.2f}")
    sqlite = tidings_run(args.messages, args.concurrency, None)
    body = max(sqlite["ciphertext_chars"])
    print(f"Tidings/SQLite   {sqlite['messages_per_s']:8.1f} msg/s  p50 {sqlite['p50_ms']:7.2f} ms"
          f"  p99 {sqlite['p99_ms']:7.2f} ms  (Olm ciphertext {body} chars)")
    postgres = None
    if not args.no_postgres:
        db = f"tidings_vs_synapse_{os.getpid()}"
        asyncio.run(_pg(f'CREATE DATABASE "{db}"'))
        try:
            postgres = tidings_run(args.messages, args.concurrency,
                                   POSTGRES_ADMIN.rsplit("/", 1)[0] + "/" + db)
        finally:
            asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        print(f"Tidings/Postgres {postgres['messages_per_s']:8.1f} msg/s  "
              f"p50 {postgres['p50_ms']:7.2f} ms  p99 {postgres['p99_ms']:7.2f} ms")
    syn = synapse_run(args.messages, args.concurrency, body)
    print(f"Synapse/SQLite   {syn.rate:8.1f} msg/s  p50 {syn.p50_ms:7.2f} ms  "
          f"p99 {syn.p99_ms:7.2f} ms  (event body {body} chars)")
    throughput_ratio = sqlite["messages_per_s"] / syn.rate
    latency_ratio = sqlite["p99_ms"] / syn.p99_ms
    print(f"ratio: Tidings/SQLite throughput {throughput_ratio:.1f}x Synapse's; "
          f"p99 {latency_ratio:.3f} of Synapse's (target >= 20x and <= 0.2)")
    result("tidings sqlite throughput", sqlite["messages_per_s"], "msg/s")
    result("tidings sqlite p50", sqlite["p50_ms"], "ms")
    result("tidings sqlite p99", sqlite["p99_ms"], "ms")
    if postgres is not None:
        result("tidings postgres throughput", postgres["messages_per_s"], "msg/s")
        result("tidings postgres p99", postgres["p99_ms"], "ms")
    result("synapse throughput", syn.rate, "msg/s")
    result("synapse p50", syn.p50_ms, "ms")
    result("synapse p99", syn.p99_ms, "ms")
    result("throughput ratio tidings/synapse", throughput_ratio, "x", ">= 20x")
    result("p99 ratio tidings/synapse", latency_ratio, "x", "<= 0.2")


if __name__ == "__main__":
    main()

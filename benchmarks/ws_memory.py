"""Where an idle WebSocket's memory goes: tracemalloc and RSS per connection, by part.

Runs the real server (``create_app`` + ``uvicorn_config``, as ``tidings serve`` does)
in this process with tracemalloc on, opens N idle gateway connections (authenticated,
subscribed to one channel, ``live``) from a client *process*, snapshots, opens N more,
snapshots again, and prints the difference divided by N: the RSS per connection and the
traced bytes per connection grouped by where they were allocated (the innermost frame
in Tidings, uvicorn, websockets, Starlette or asyncio, and the innermost frame itself).
Diffing two populations cancels what the first connections warmed up once. Run from
the repository root::

    PYTHONPATH=src python benchmarks/ws_memory.py --connections 1000

Each process holds 2N sockets at the end (the server runs in this one), so N is bounded
by half the hard ``RLIMIT_NOFILE`` (20,000 here: N <= ~9,900); the figure at 10,000
connections comes from ``channel_fanout.py``, whose server is a process of its own.
``--depth 0`` measures RSS only, which is much faster on a loaded machine.

tracemalloc sees Python's allocators only: libuv's handles and the kernel's socket
buffers are in RSS (or in neither), not in the traced figure.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
import tracemalloc
from collections import defaultdict
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

import httpx
import websockets

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from channel_fanout import (
    CONNECT_CONCURRENCY,
    HANDLE,
    free_port,
    raise_nofile,
    rss_kib,
    seed,
    subscribe_all,
    token,
)
from tidings.config import load_settings
from tidings.server.app import create_app
from tidings.server.serving import uvicorn_config

PACKAGES = ("tidings", "uvicorn", "websockets", "starlette", "asyncio", "uvloop")


def client_main(url: str, pipe: Connection) -> None:
    raise_nofile()
    asyncio.run(_clients(url, pipe))


async def _clients(url: str, pipe: Connection) -> None:
    conns: list[websockets.ClientConnection] = []
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    loop = asyncio.get_running_loop()

    async def open_one(i: int) -> None:
        async with gate:
            conn = await websockets.connect(url, ping_interval=None, open_timeout=120)
            await conn.send(json.dumps({"type": "hello", "since": 0, "token": token(i)}))
            while json.loads(await conn.recv())["type"] != "live":
                pass
            conns.append(conn)

    while True:
        command = await loop.run_in_executor(None, pipe.recv)
        if command == "exit":
            break
        first, count = command
        await asyncio.gather(*(open_one(i) for i in range(first, first + count)))
        pipe.send(len(conns))
    for conn in conns:
        await conn.close()


def part(frames: tracemalloc.Traceback) -> str:
    """The innermost frame in a named package, else the innermost frame."""
    for frame in reversed(frames):  # a Traceback runs from the oldest call
        name = frame.filename.replace(os.sep, "/")
        for package in PACKAGES:
            if f"/{package}/" in name:
                short = name[name.rindex(f"/{package}/") + 1:]
                return f"{short}:{frame.lineno}"
    first = frames[-1]
    return f"{Path(first.filename).name}:{first.lineno}"


async def measure(n: int, pipe: Connection, client: BaseProcess) -> None:
    loop = asyncio.get_running_loop()

    async def open_more(first: int) -> None:
        pipe.send((first, n))
        while not await loop.run_in_executor(None, pipe.poll, 5):
            if not client.is_alive():
                raise RuntimeError("the client process died (see its traceback above)")
        pipe.recv()
        await asyncio.sleep(1)
        gc.collect()

    await open_more(1)
    before = tracemalloc.take_snapshot() if tracemalloc.is_tracing() else None
    rss_before = rss_kib(os.getpid())
    await open_more(1 + n)
    after = tracemalloc.take_snapshot() if tracemalloc.is_tracing() else None
    rss_after = rss_kib(os.getpid())
    diffs = after.compare_to(before, "traceback") if after and before else []
    by_part: dict[str, int] = defaultdict(int)
    by_line: dict[str, int] = defaultdict(int)
    for diff in diffs:
        by_part[part(diff.traceback)] += diff.size_diff
        first = diff.traceback[-1]
        by_line[f"{Path(first.filename).name}:{first.lineno}"] += diff.size_diff
    traced = sum(d.size_diff for d in diffs)
    print(f"connections: {n} then {2 * n} (difference of the two populations)")
    print(f"RSS per connection:    {(rss_after - rss_before) * 1024 / n:8.0f} B"
          + ("  (tracemalloc's own bookkeeping included)" if tracemalloc.is_tracing() else ""))
    if not tracemalloc.is_tracing():
        return
    print(f"traced per connection: {traced / n:8.0f} B")
    print("\nby the innermost frame in " + ", ".join(PACKAGES) + " (B per connection):")
    for name, size in sorted(by_part.items(), key=lambda kv: -kv[1])[:25]:
        if abs(size) / n >= 16:
            print(f"  {size / n:7.0f}  {name}")
    print("\nby the allocating line (B per connection):")
    for name, size in sorted(by_line.items(), key=lambda kv: -kv[1])[:12]:
        if abs(size) / n >= 16:
            print(f"  {size / n:7.0f}  {name}")


async def serve_and_measure(data_dir: Path, n: int) -> None:
    import uvicorn

    port = free_port()
    # Rate limits off and a long header deadline: opening thousands of sockets from one
    # process on a shared machine is load, not abuse (a 408 would end the run).
    settings = load_settings(data_dir, None, port=port, log_level="warning",
                             rate_limits=False, request_header_timeout_s=120)
    server = uvicorn.Server(uvicorn_config(create_app(settings), settings))
    task = asyncio.create_task(server.serve())
    base = f"http://127.0.0.1:{port}"
    owner = {"Authorization": f"Bearer {token(0)}"}
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        while not server.started:
            await asyncio.sleep(0.05)
        (await http.post("/api/v1/channels", headers=owner,
                         json={"handle": HANDLE, "title": "memory"})).raise_for_status()
        await subscribe_all(data_dir, 2 * n)
    parent, child = mp.get_context("spawn").Pipe()
    proc = mp.get_context("spawn").Process(
        target=client_main, args=(base.replace("http", "ws") + "/api/v1/ws", child))
    proc.start()
    try:
        await measure(n, parent, proc)
    finally:
        parent.send("exit")
        await asyncio.get_running_loop().run_in_executor(None, proc.join, 60)
        server.should_exit = True
        await task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--depth", type=int, default=12,
                        help="traceback frames kept; 0: no tracemalloc, RSS only")
    args = parser.parse_args()
    raise_nofile()
    data_dir = Path(tempfile.mkdtemp(prefix="tidings-wsmem-"))
    try:
        exe = shutil.which("tidings") or str(Path(sys.executable).parent / "tidings")
        subprocess.run([exe, "db", "upgrade", "--data", str(data_dir)], check=True,
                       stdout=subprocess.DEVNULL)
        asyncio.run(seed(data_dir, 2 * args.connections))
        if args.depth:
            tracemalloc.start(args.depth)
        import uvloop

        uvloop.run(serve_and_measure(data_dir, args.connections))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()

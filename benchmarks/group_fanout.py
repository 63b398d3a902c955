"""Group fan-out benchmark: one Megolm message to a 500-member group, 2 devices each.

Starts ``tidings serve`` (SQLite in a temp dir, or ``--database-url``), registers
``--members`` people with two devices each, creates one group holding all of them, and
connects every device's WebSocket stream. Then the first member's device sends
``--messages`` group messages one after another, each a real Megolm ciphertext of a
sealed 140-character text; for each it measures

- **store**: the server's own time for the send (``Server-Timing``: the one ciphertext
  row and ~1,000 stream rows committed durably, then published to live sockets), and
  the HTTP round trip;
- **last device**: from the send until the last of the other 999 devices has the
  event (with its ciphertext) on its socket. The devices' sockets live in
  ``LISTENER_PROCESSES`` processes of their own (wall clock, same machine).

    PYTHONPATH=src python benchmarks/group_fanout.py
    PYTHONPATH=src python benchmarks/group_fanout.py --members 500 --messages 5
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import command, result
from private_relay import TEXT, free_port, start_server, wait_up, ws_url
from tidings.crypto import OutboundGroup, seal_message
from tidings.crypto.identity import DeviceIdentity
from tidings.protocol.payload import MessageContent

PASSWORD = "benchmark password 123"
CONCURRENCY = 16
BATCH = 100
LISTENER_PROCESSES = 2


async def device(http: httpx.AsyncClient, name: str, first: bool, sem: asyncio.Semaphore
                 ) -> dict[str, Any]:
    async with sem:
        path = "register" if first else "login"
        r = await http.post(f"/api/v1/accounts/{path}", json={
            "username": name, "password": PASSWORD, "device_name": f"d{int(not first)}"})
        r.raise_for_status()
        session: dict[str, Any] = r.json()
        return session


async def listen(url: str, session: dict[str, Any], got: dict[str, list[float]],
                 live: asyncio.Event, stop: asyncio.Event) -> None:
    h = {"Authorization": f"Bearer {session['token']}"}
    async with websockets.connect(ws_url(url), additional_headers=h, max_size=2**22) as ws:
        await ws.send(json.dumps({"type": "hello", "since": 0}))
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.1)
            except TimeoutError:
                continue
            now = time.time()
            frame = json.loads(raw)
            if frame.get("type") == "live":
                live.set()
            elif frame.get("type") == "event":
                if frame["kind"] == "group_message":
                    assert frame["body"]["ciphertext"]
                    got.setdefault(frame["body"]["id"], []).append(now)
                await ws.send(f'{{"type":"ack","upto":{frame["seq"]}}}')


def listener_process(url: str, sessions: list[dict[str, Any]], conn: Connection) -> None:
    """Holds some of the devices' sockets in a process of its own, so the sender's
    timing is not slowed by decoding ~1,000 frames in the same event loop."""

    async def go() -> None:
        got: dict[str, list[float]] = {}
        stop = asyncio.Event()
        lives = [asyncio.Event() for _ in sessions]
        tasks = [asyncio.create_task(listen(url, s, got, e, stop))
                 for s, e in zip(sessions, lives, strict=True)]
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in lives)), 300)
        conn.send("live")
        loop = asyncio.get_running_loop()
        while True:
            msg = await loop.run_in_executor(None, conn.recv)
            if msg == "stop":
                break
            mid, want = msg
            while len(got.get(mid, [])) < want:
                await asyncio.sleep(0.002)
            conn.send(max(got[mid]))
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(go())


async def main(args: argparse.Namespace) -> None:
    command()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TIDINGS_RATE_LIMITS"] = "false"
        proc = start_server(Path(tmp), port, args.database_url)
        try:
            await wait_up(url)
            async with httpx.AsyncClient(base_url=url, timeout=120) as http:
                await run(http, url, args)
        finally:
            proc.terminate()
            proc.wait(10)


async def run(http: httpx.AsyncClient, url: str, args: argparse.Namespace) -> None:
    names = [f"member{i:04d}" for i in range(args.members)]
    sem = asyncio.Semaphore(CONCURRENCY)
    t = time.perf_counter()
    firsts = await asyncio.gather(*(device(http, n, True, sem) for n in names))
    seconds = await asyncio.gather(*(device(http, n, False, sem) for n in names))
    print(f"registered {len(names)} people x 2 devices in {time.perf_counter() - t:.1f} s")
    sender = firsts[0]
    h = {"Authorization": f"Bearer {sender['token']}"}
    ident = DeviceIdentity.create(names[0], sender["device_id"])
    (await http.post("/api/v1/keys/upload", headers=h, json={
        "device_keys": ident.device_keys().to_json(), "one_time_keys": [],
        "fallback_key": ident.fallback_key().to_json()})).raise_for_status()
    r = await http.post("/api/v1/groups", headers=h,
                        json={"title": "Benchmark", "members": names[1:BATCH]})
    r.raise_for_status()
    gid = r.json()["id"]
    for i in range(BATCH, len(names), BATCH):
        (await http.post(f"/api/v1/groups/{gid}/members", headers=h,
                         json={"users": names[i:i + BATCH]})).raise_for_status()
    sessions = [*firsts[1:], *seconds]
    parts = [sessions[i::LISTENER_PROCESSES] for i in range(LISTENER_PROCESSES)]
    pipes, procs = [], []
    for part in parts:
        ours, theirs = mp.Pipe()
        proc = mp.Process(target=listener_process, args=(url, part, theirs), daemon=True)
        proc.start()
        pipes.append(ours)
        procs.append(proc)
    for pipe in pipes:
        assert pipe.recv() == "live"
    await asyncio.sleep(1.0)  # membership events drained
    print(f"{len(sessions)} devices connected in {LISTENER_PROCESSES} listener processes")
    outbound = OutboundGroup.create(int(time.time() * 1000))
    stores: list[float] = []
    lasts: list[float] = []
    servers: list[float] = []
    for n in range(args.messages):
        content = MessageContent("text", {"text": TEXT}, f"c{n}", int(time.time() * 1000))
        sealed, commitment, _ = seal_message(content)
        ciphertext = outbound.encrypt(sealed)
        t0 = time.time()
        r = await http.post(f"/api/v1/groups/{gid}/messages", headers=h, json={
            "client_id": f"c{n}", "session_id": outbound.session_id, "ciphertext": ciphertext,
            "commitment": base64.b64encode(commitment).decode()})
        stored = time.time()
        r.raise_for_status()
        mid = r.json()["id"]
        server_ms = float(r.headers["server-timing"].split("dur=")[1])
        servers.append(server_ms)
        for pipe, part in zip(pipes, parts, strict=True):
            pipe.send((mid, len(part)))
        last = max([pipe.recv() for pipe in pipes])
        stores.append((stored - t0) * 1000)
        lasts.append((last - t0) * 1000)
        print(f"message {n}: server stored in {server_ms:.1f} ms (round trip "
              f"{stores[-1]:.1f} ms), last of {len(sessions)} devices "
              f"after {lasts[-1]:.1f} ms ({len(ciphertext)} ciphertext chars, stored once)")
        await asyncio.sleep(0.5)  # acks settle between messages
    for pipe, proc in zip(pipes, procs, strict=True):
        pipe.send("stop")
        proc.join(30)
    result("group_fanout_server_store_ms_median", round(statistics.median(servers), 1), "ms")
    result("group_fanout_store_roundtrip_ms_median", round(statistics.median(stores), 1), "ms")
    result("group_fanout_last_device_ms_median", round(statistics.median(lasts), 1), "ms")
    result("group_fanout_last_device_ms_max", round(max(lasts), 1), "ms")
    result("group_fanout_devices", len(sessions), "devices")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--messages", type=int, default=5)
    parser.add_argument("--database-url", default=None)
    asyncio.run(main(parser.parse_args()))

"""Private relay benchmark: end-to-end encrypted 1:1 messages through a real server.

Starts ``tidings serve`` as a subprocess (SQLite in a temp dir, or ``--database-url``),
registers N senders and N receivers (one device each, real device keys), and pairs
sender i with receiver i. Each sender claims its receiver's one-time key, starts an
Olm session and encrypts a realistic text message (a 140-character text, sealed with
its franking key) to get real ciphertext sizes: one pre-key and one normal Olm message.
**The load loop re-sends these pre-encrypted ciphertexts** (the server never decrypts,
so its work is the same; the benchmark measures the relay, not client-side Olm).

Client path measured: raw WebSocket ``send`` frames written by this script, with a
window of unanswered sends per connection; **not** the SDK's send call (that is
``sdk_send.py``, which measures what the project's clients do): this is the relay's
ceiling. Receivers hold live WebSocket streams and acknowledge cumulatively. Latency
is from a frame's send to its receipt at the receiving device; every send is answered
only after group commit made it durable.

    PYTHONPATH=src python benchmarks/private_relay.py --pairs 20 --messages 1000
    PYTHONPATH=src python benchmarks/private_relay.py --pairs 20 --rate 1000 --duration 10
    PYTHONPATH=src python benchmarks/private_relay.py --database-url postgresql+asyncpg://...
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import websockets

from tidings.crypto import OlmMachine, seal_message
from tidings.crypto.identity import DeviceIdentity
from tidings.protocol.keys import OneTimeKey
from tidings.protocol.payload import MessageContent

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _report import result as report

PASSWORD = "benchmark password 123"
TEXT = ("Running ten minutes late, the tram is stuck at the bridge again. Order me the "
        "usual and keep a seat by the window, I will explain everything when I get there.")[:140]
ACK_EVERY = 100


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(data: Path, port: int, database_url: str | None) -> subprocess.Popen[bytes]:
    # Rate limits off: one address registering every account and sending far above a
    # person's rate is the load generator here, not abuse.
    env = {**os.environ, "TIDINGS_LOG_LEVEL": "warning", "TIDINGS_RATE_LIMITS": "false"}
    if database_url:
        env["TIDINGS_DATABASE_URL"] = database_url
    exe = str(Path(sys.executable).with_name("tidings"))
    subprocess.run([exe, "db", "upgrade", "--data", str(data)], env=env, check=True,
                   capture_output=True)
    return subprocess.Popen([exe, "serve", "--data", str(data), "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def wait_up(url: str) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(200):
            try:
                if (await http.get(f"{url}/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError("server did not start")


async def enroll(http: httpx.AsyncClient, name: str) -> tuple[dict[str, Any], OlmMachine]:
    r = await http.post("/api/v1/accounts/register", json={
        "username": name, "password": PASSWORD, "device_name": "bench"})
    r.raise_for_status()
    session = r.json()
    ident = DeviceIdentity.create(name, session["device_id"])
    body = {"device_keys": ident.device_keys().to_json(),
            "one_time_keys": [k.to_json() for k in ident.generate_one_time_keys(5)],
            "fallback_key": ident.fallback_key().to_json()}
    h = {"Authorization": f"Bearer {session['token']}"}
    (await http.post("/api/v1/keys/upload", json=body, headers=h)).raise_for_status()
    ident.mark_published()
    return session, OlmMachine(ident)


async def ciphertexts(http: httpx.AsyncClient, sender: tuple[dict[str, Any], OlmMachine],
                      receiver: tuple[dict[str, Any], OlmMachine]) -> tuple[list[Any], str]:
    """Real Olm ciphertexts of a sealed text: one pre-key (type 0), one normal (type 1)."""
    session, machine = sender
    peer, peer_machine = receiver
    h = {"Authorization": f"Bearer {session['token']}"}
    claimed = (await http.post("/api/v1/keys/claim", json={"devices": {peer["username"]: []}},
                               headers=h)).json()["one_time_keys"][peer["username"]]
    otk = OneTimeKey.from_json(claimed[peer["device_id"]])
    content = MessageContent("text", {"text": TEXT}, "c0", int(time.time() * 1000))
    sealed, commitment, _ = seal_message(content)
    curve = peer_machine.identity.curve25519
    first = machine.encrypt_for(curve, otk, sealed)
    # the receiver answers so the sender's session leaves the pre-key phase
    peer_machine.decrypt_from(machine.identity.curve25519, first)
    reply = peer_machine.encrypt_for(machine.identity.curve25519, None, sealed)
    machine.decrypt_from(curve, reply)
    normal = machine.encrypt_for(curve, None, sealed)
    return [first.to_json(), normal.to_json()], base64.b64encode(commitment).decode()


def ws_url(url: str) -> str:
    return url.replace("http://", "ws://") + "/api/v1/ws"


class Receiver:
    def __init__(self, session: dict[str, Any], received: dict[str, float]) -> None:
        self.session = session
        self.received = received
        self.count = 0

    async def run(self, url: str, ready: asyncio.Event, stop: asyncio.Event) -> None:
        h = {"Authorization": f"Bearer {self.session['token']}"}
        async with websockets.connect(ws_url(url), additional_headers=h, max_size=2**22) as ws:
            await ws.send(json.dumps({"type": "hello", "since": 0}))
            last = 0
            acked = 0
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.05)
                except TimeoutError:
                    if last > acked:
                        await ws.send(f'{{"type":"ack","upto":{last}}}')
                        acked = last
                    continue
                now = time.perf_counter()
                frame = json.loads(raw)
                if frame["type"] == "live":
                    ready.set()
                elif frame["type"] == "event" and frame["kind"] == "message":
                    self.received[frame["body"]["id"]] = now
                    self.count += 1
                    last = frame["seq"]
                    if last - acked >= ACK_EVERY:
                        await ws.send(f'{{"type":"ack","upto":{last}}}')
                        acked = last


class Sender:
    def __init__(self, session: dict[str, Any], to: str, device: str, cts: list[Any],
                 commitment: str) -> None:
        self.session = session
        self.template = {"type": "send", "to": to, "commitment": commitment}
        self.device = device
        self.cts = cts
        self.sent_at: dict[str, float] = {}
        self.ids: dict[str, str] = {}
        self.answered_at: dict[str, float] = {}
        self.errors = 0

    def frame(self, n: int) -> str:
        ct = self.cts[0 if n == 0 else 1]
        return json.dumps({**self.template, "ref": str(n), "client_id": f"b{n}",
                           "envelopes": [{"device_id": self.device, "ciphertext": ct}]})

    async def run(self, url: str, count: int, window: int, interval: float | None,
                  deadline: float | None) -> None:
        h = {"Authorization": f"Bearer {self.session['token']}"}
        async with websockets.connect(ws_url(url), additional_headers=h, max_size=2**22) as ws:
            await ws.send(json.dumps({"type": "hello", "since": 0}))
            slots = asyncio.Semaphore(window)
            done = asyncio.Event()
            answered = 0

            async def read() -> None:
                nonlocal answered
                async for raw in ws:
                    frame = json.loads(raw)
                    if frame["type"] == "sent":
                        self.ids[frame["id"]] = frame["ref"]
                        self.answered_at[frame["ref"]] = time.perf_counter()
                    elif frame["type"] == "error":
                        self.errors += 1
                    else:
                        continue
                    answered += 1
                    slots.release()
                    if answered == count:
                        done.set()
                        return

            reader = asyncio.create_task(read())
            start = time.perf_counter()
            sent = 0
            for n in range(count):
                if deadline is not None and time.perf_counter() >= deadline:
                    break
                if interval is not None:  # open loop: keep the schedule, do not wait for answers
                    delay = start + n * interval - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                else:
                    await slots.acquire()
                self.sent_at[str(n)] = time.perf_counter()
                await ws.send(self.frame(n))
                sent += 1
            if sent < count:
                count = sent
                if answered >= count:
                    done.set()
            await asyncio.wait_for(done.wait(), 60)
            reader.cancel()


def fsync_probe(directory: Path, seconds: float = 2.0) -> dict[str, float]:
    """The disk's fsync latency right now: with synchronous=FULL every commit waits for one,
    so this bounds what group commit can do for tail latency on a shared machine."""
    path = directory / "fsync.probe"
    times: list[float] = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            os.write(fd, b"x" * 4096)
            start = time.perf_counter()
            os.fsync(fd)
            times.append((time.perf_counter() - start) * 1000)
            time.sleep(0.001)
    finally:
        os.close(fd)
        path.unlink()
    return {"p50_ms": round(pct(times, 50), 2), "p99_ms": round(pct(times, 99), 2),
            "p999_ms": round(pct(times, 99.9), 2), "max_ms": round(max(times), 2)}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else 0.0


async def bench(args: argparse.Namespace, url: str, server_pid: int) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        run = secrets.token_hex(3)  # fresh names, so a reused PostgreSQL database works
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
    rx_tasks = [asyncio.create_task(r.run(url, e, stop)) for r, e in zip(rx, readies, strict=True)]
    await asyncio.gather(*(e.wait() for e in readies))
    tx = [Sender(s, r["username"], r["device_id"], cts, c) for s, r, cts, c in pairs]
    sizes = sorted({len(ct["body"]) for ct in pairs[0][2]})
    if args.rate:
        interval = args.pairs / args.rate
        count = int(args.rate * args.duration / args.pairs)
        deadline = time.perf_counter() + args.duration + 1
    else:
        interval, count, deadline = None, args.messages, None
    start = time.perf_counter()
    cpu_server, cpu_client = cpu_seconds(server_pid), time.process_time()
    await asyncio.gather(*(t.run(url, count, args.window, interval, deadline) for t in tx))
    expected = sum(len(t.ids) for t in tx)
    for _ in range(600):
        if len(received) >= expected:
            break
        await asyncio.sleep(0.05)
    cpu_server = cpu_seconds(server_pid) - cpu_server
    cpu_client = time.process_time() - cpu_client
    stop.set()
    await asyncio.gather(*rx_tasks, return_exceptions=True)
    latencies = [(received[mid] - t.sent_at[ref]) * 1000 for t in tx for mid, ref in t.ids.items()
                 if mid in received]
    durable = [(t.answered_at[ref] - t.sent_at[ref]) * 1000 for t in tx for ref in t.answered_at]
    first = min(min(t.sent_at.values()) for t in tx)
    last = max(received.values()) if received else start
    return {"mode": f"fixed rate {args.rate}/s for {args.duration}s" if args.rate else
            f"throughput, window {args.window} per sender",
            "pairs": args.pairs, "sent": sum(len(t.sent_at) for t in tx), "acknowledged": expected,
            "received": len(received), "errors": sum(t.errors for t in tx),
            "messages_per_s": round(len(received) / (last - first), 1),
            "p50_ms": round(statistics.median(latencies), 2) if latencies else None,
            "p99_ms": round(pct(latencies, 99), 2), "max_ms": round(max(latencies, default=0), 2),
            "sent_reply_p50_ms": round(pct(durable, 50), 2),
            "sent_reply_p99_ms": round(pct(durable, 99), 2),
            "ciphertext_chars": sizes,
            "server_cpu_ms_per_message": round(cpu_server * 1000 / max(1, len(received)), 3),
            "client_cpu_ms_per_message": round(cpu_client * 1000 / max(1, len(received)), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=20, help="senders (= receivers)")
    parser.add_argument("--messages", type=int, default=1000, help="per sender (throughput)")
    parser.add_argument("--window", type=int, default=64, help="unanswered sends per sender")
    parser.add_argument("--rate", type=float, default=0, help="fixed total msg/s (0: max)")
    parser.add_argument("--duration", type=float, default=10, help="seconds at fixed rate")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        fsync = fsync_probe(Path(tmp))
        port = free_port()
        server = start_server(Path(tmp), port, args.database_url)
        url = f"http://127.0.0.1:{port}"
        try:
            import uvloop

            async def run() -> dict[str, Any]:
                await wait_up(url)
                return await bench(args, url, server.pid)

            result = uvloop.run(run())
        finally:
            server.terminate()
            server.wait(10)
    result["client_path"] = "raw WebSocket send frames, pre-encrypted, windowed (not the SDK)"
    result["database"] = "postgresql" if args.database_url else "sqlite (synchronous=FULL)"
    result["fsync_before_run"] = fsync
    result["loadavg_1m"] = {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2),
                            "cpus": os.cpu_count()}
    result["command"] = "PYTHONPATH=src python " + shlex.join(sys.argv)
    print(json.dumps(result, indent=2))
    report("messages per second", result["messages_per_s"], "msg/s",
           "" if args.rate else ">= 5000")
    report("send to receipt p50", result["p50_ms"] or 0, "ms")
    report("send to receipt p99", result["p99_ms"], "ms", "<= 50 ms at 1000/s" if args.rate else "")


if __name__ == "__main__":
    main()

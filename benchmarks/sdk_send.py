"""The SDK's own send call, as the project's clients make it, end to end.

Client path measured: ``Messenger.send_text`` (the call ``tidings send``, the TUI and
bots make) with real Olm encryption of every message, through a real ``tidings serve``
subprocess, to the recipient's ``Messenger.receive`` callback (real Olm decryption,
cumulative acknowledgement after the key state is kept). Each sender is a closed loop:
its next send starts when the previous one was answered, and the server answers only
once the message is durable (SQLite WAL, synchronous=FULL, group commit). Latency is
from the start of the SDK send call to the recipient's ``on_message`` callback.

``--path socket`` (the default) holds each sender's event-stream connection open, as
the TUI does, so sends go over it; ``--path http`` sends without one (``POST
/api/v1/messages``, what ``tidings send`` does from the command line).

Authentication, franking and rate limiting stay on: the ``send`` rate is raised (the
load generator sends far above a person's rate) but still checked on every send.

    PYTHONPATH=src python benchmarks/sdk_send.py --concurrency 1 8 32 --messages 2000
    PYTHONPATH=src python benchmarks/sdk_send.py --path http --concurrency 8
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _profile import Spy, pyspy, summary
from _report import result as report
from private_relay import cpu_seconds, free_port, fsync_probe, pct, wait_up
from tidings.client.e2ee import Received
from tidings.client.messaging import Messenger, Undecryptable, enroll
from tidings.client.sdk import TidingsClient
from tidings.client.socket import Socket
from tidings.protocol import limits
from tidings.protocol.errors import RateLimited

PASSWORD = "benchmark password 123"
TEXT = ("Running ten minutes late, the tram is stuck at the bridge again. Order me the "
        "usual and keep a seat by the window, I will explain everything when I get there. ") * 4
RATES = "register=1000/3600,login=1000/300"
"""Raised for the load generator, which registers every account from one address; the
per-device ``send`` limit and the key-claim limits stay at their defaults."""
SEND_LIMIT = f"{limits.RATE_SEND.limit} per {limits.RATE_SEND.period_s} s per device (default)"
PROFILE_ENV = "TIDINGS_BENCH_PROFILE"
SETTINGS = {"TIDINGS_LOG_LEVEL": "warning", "TIDINGS_RATES": RATES}


def served_pid(proc: Any) -> int:
    """The server's pid (under py-spy, its child)."""
    if not os.environ.get(PROFILE_ENV):
        return int(proc.pid)
    for _ in range(100):
        kids = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        if kids:
            return int(kids[0])
        time.sleep(0.05)
    raise RuntimeError("py-spy did not start the server")


def start_server(data: Path, port: int, database_url: str | None = None) -> Any:
    import subprocess

    env = {**os.environ, **SETTINGS}
    if database_url:
        env["TIDINGS_DATABASE_URL"] = database_url
    exe = str(Path(sys.executable).with_name("tidings"))
    subprocess.run([exe, "db", "upgrade", "--data", str(data)], env=env, check=True,
                   capture_output=True)
    cmd = [exe, "serve", "--data", str(data), "--port", str(port)]
    if os.environ.get(PROFILE_ENV):  # a py-spy flame graph of the server (SVG)
        spy = pyspy()
        fmt = os.environ.get(PROFILE_ENV + "_FORMAT", "flamegraph")  # or raw
        cmd = [spy, "record", "--gil", "-r", "200", "-f", fmt, "-o", os.environ[PROFILE_ENV],
               "--", *cmd]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def person(url: str, name: str) -> Messenger:
    client = TidingsClient(url)
    await client.register(name, PASSWORD, "bench")
    return await enroll(client, None)  # keys in memory: no key-store file per message


WARM_UP = "warm-up: the receiver's connection is live"


async def said_live(sock: Socket) -> None:
    """Wait for the server's ``live`` frame on a sender's new connection. The client's
    ``connect`` returns once its hello is sent; the server then still authenticates the
    connection and catches it up from the store (a few ms each, all C at once at the
    start of a level), and a send read meanwhile waits for that. A connection does this
    once, not per send (the TUI's is open all session), so it is kept out of the window."""
    async with asyncio.timeout(60):
        while json.loads(await sock.recv()).get("type") != "live":
            pass


class Level:
    """One run at one concurrency: C senders, C receivers, one pair each."""

    def __init__(self, pairs: list[tuple[Messenger, Messenger]], per_sender: int,
                 path: str, text_chars: int, pids: tuple[int, int] = (0, 0)) -> None:
        self.text = TEXT[:text_chars]
        self.pairs = pairs
        self.per_sender = per_sender
        self.path = path
        self.started: dict[str, float] = {}
        self.answered: list[float] = []
        self.received: dict[str, float] = {}
        self.sizes: set[int] = set()
        self.errors = 0
        self.rate_limited = 0
        """Sends the server refused with 429 (the per-device limit), then retried."""
        self.done = asyncio.Event()
        self.expected = per_sender * len(pairs)
        self.warm = 0
        self.connected = 0
        self.go = asyncio.Event()
        self.first = 0.0
        self.live = asyncio.Event()
        """Set when every receiver got its pair's unmeasured warm-up message live."""
        self.pids = pids
        """(server, client): whose event loops' waits for a CPU are reported."""
        self.waited = [0.0, 0.0]
        self.socket_before = sum(s.client.transport.sent_over_socket for s, _ in pairs)

    def on_message(self, item: Received | Undecryptable) -> None:
        if isinstance(item, Undecryptable):
            self.errors += 1
            return
        if item.content.body.get("text") == WARM_UP:
            self.warm += 1
            if self.warm >= len(self.pairs):
                self.live.set()
            return
        self.received[item.id] = time.perf_counter()
        if len(self.received) >= self.expected:
            self.done.set()

    async def receiver(self, m: Messenger, ready: asyncio.Event) -> None:
        await m.receive(0)  # catch up (earlier levels' leftovers) before going live
        ready.set()
        await m.receive(3600, self.on_message)  # one connection, cancelled when all arrived

    async def sender(self, m: Messenger, to: str) -> None:
        async def loop() -> None:
            for n in range(self.per_sender):
                while True:
                    start = time.perf_counter()
                    try:
                        sent = await m.send_text(to, f"{n:05d} {self.text}")
                        break
                    except RateLimited as exc:  # as a client must: wait, then send again
                        self.rate_limited += 1
                        await asyncio.sleep(max(0.05, exc.retry_after))
                self.started[sent["id"]] = start
                self.answered.append((time.perf_counter() - start) * 1000)

        if self.path == "socket":
            async with m.client.transport.connect(m.client.profile.stream_pos
                                                  if m.client.profile else 0) as sock:
                await said_live(sock)
                await self.all_connected()
                await loop()
        else:
            await self.all_connected()
            await loop()

    async def all_connected(self) -> None:
        """The senders start together once each has its connection open and live (the
        TUI's is open all session): the measured window holds no connection set-up."""
        self.connected += 1
        if self.connected == len(self.pairs):
            self.waited = [-waited_for_cpu(p) for p in self.pids]
            self.first = time.perf_counter()
            self.go.set()
        await self.go.wait()

    async def run(self) -> dict[str, Any]:
        readies = [asyncio.Event() for _ in self.pairs]
        rx = [asyncio.create_task(self.receiver(r, e))
              for (_, r), e in zip(self.pairs, readies, strict=True)]
        await asyncio.gather(*(e.wait() for e in readies))
        # Measure with every receiver's connection live: one unmeasured message per pair
        # must reach its receiver first (else the first sends of a level wait for C
        # receivers' connection set-up, which is not the steady state measured here).
        await asyncio.gather(*(s.send_text(r.user, WARM_UP) for s, r in self.pairs))
        await asyncio.wait_for(self.live.wait(), 60)
        await asyncio.gather(*(self.sender(s, r.user) for s, r in self.pairs))
        first = self.first
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.done.wait(), 60)
        waited = [w + waited_for_cpu(p) for w, p in zip(self.waited, self.pids, strict=True)]
        for task in rx:
            task.cancel()
        await asyncio.gather(*rx, return_exceptions=True)
        latencies = [(self.received[i] - t) * 1000 for i, t in self.started.items()
                     if i in self.received]
        last = max(self.received.values(), default=first)
        over_socket = sum(s.client.transport.sent_over_socket for s, _ in self.pairs) \
            - self.socket_before
        return {"senders": len(self.pairs), "sent": len(self.started),
                "received": len(self.received), "undecryptable": self.errors,
                "over_socket": over_socket, "rate_limited_sends": self.rate_limited,
                "messages_per_s": round(len(self.received) / max(1e-9, last - first), 1),
                "p50_ms": round(pct(latencies, 50), 2), "p99_ms": round(pct(latencies, 99), 2),
                "max_ms": round(max(latencies, default=0), 2),
                "answer_p50_ms": round(pct(self.answered, 50), 2),
                "answer_p99_ms": round(pct(self.answered, 99), 2),
                # The part of the measured window each event loop was ready to run but had
                # no CPU: the other process, the server's commit thread or neighbours held
                # both cores. A tail with these high is the machine's, not the code's.
                "loop_waited_for_cpu_pct": {
                    side: round(100 * w / max(1e-9, last - first), 1)
                    for side, w in zip(("server", "client"), waited, strict=True)}}


async def bench(args: argparse.Namespace, url: str, server_pid: int) -> list[dict[str, Any]]:
    # Fresh pairs for each level: no level spends another's send-limit allowance.
    most = sum(args.concurrency)
    run = os.urandom(3).hex()
    senders = [await person(url, f"s{run}x{i}") for i in range(most)]
    receivers = [await person(url, f"r{run}x{i}") for i in range(most)]
    pairs = list(zip(senders, receivers, strict=True))
    # One message per pair first: sessions leave the pre-key phase, as in a conversation
    # under way (a first message carries a pre-key Olm message, about 200 bytes more).
    await asyncio.gather(*(s.send_text(r.user, "hello") for s, r in pairs))
    await asyncio.gather(*(r.receive(0) for r in receivers))
    await asyncio.gather(*(r.send_text(s.user, "hi") for s, r in pairs))
    await asyncio.gather(*(s.receive(0) for s in senders))
    await asyncio.gather(*(s.send_text(r.user, f"{0:05d} {TEXT[:args.text_chars]}")
                           for s, r in pairs))
    envelope = await ciphertext_bytes(receivers[0])
    idle = await idle_cpu(server_pid)
    print(json.dumps({"server_idle_cpu_ms_per_s": round(idle * 1000, 1)}), flush=True)
    results = []
    first = 0
    for c in args.concurrency:
        level = Level(pairs[first:first + c], max(1, args.messages // c), args.path,
                      args.text_chars, (server_pid, os.getpid()))
        first += c
        spies = profile_level(args.profile, c, server_pid)
        cpu_server, cpu_client = cpu_seconds(server_pid), time.process_time()
        began = time.perf_counter()
        figures = await level.run()
        elapsed = time.perf_counter() - began
        cpu_server = cpu_seconds(server_pid) - cpu_server
        cpu_client = time.process_time() - cpu_client
        for spy in spies:
            spy.stop()
        figures["cpu_split"] = {"server": round(100 * cpu_server / max(1e-9, cpu_server
                                                                          + cpu_client)),
                                "client": round(100 * cpu_client / max(1e-9, cpu_server
                                                                          + cpu_client))}
        n = max(1, figures["received"])
        figures["server_cpu_ms_per_message"] = round(cpu_server * 1000 / n, 3)
        # The server's timers and polls cost the same per second however many messages
        # go through; on a loaded machine (few messages per second) they weigh heavily
        # per message, so the per-message work is also shown without them.
        figures["server_cpu_ms_per_message_net_of_idle"] = round(
            max(0.0, cpu_server - idle * elapsed) * 1000 / n, 3)
        figures["client_cpu_ms_per_message"] = round(cpu_client * 1000 / n, 3)
        figures["olm_ciphertext_bytes"] = envelope
        results.append(figures)
        print(json.dumps(figures), flush=True)
        if figures["rate_limited_sends"]:
            print(f"C={c}: the per-device send limit ({SEND_LIMIT}) capped this level: "
                  f"{figures['rate_limited_sends']} sends were refused with 429 and sent "
                  "again after retry_after", flush=True)
    for m in senders + receivers:
        await m.client.close()
    return results


def profile_level(where: Path | None, c: int, server_pid: int) -> list[Spy]:
    """py-spy on the server and on this (client) process for one level's run."""
    if where is None:
        return []
    where.mkdir(parents=True, exist_ok=True)
    return [Spy(server_pid, where / f"server-c{c}.txt"),
            Spy(os.getpid(), where / f"client-c{c}.txt")]


def print_profiles(where: Path, levels: list[int]) -> None:
    for c in levels:
        for side in ("server", "client"):
            top = summary(where / f"{side}-c{c}.txt")
            print(f"profile {side} C={c} (py-spy, % of that process's samples)")
            for kind in ("self", "inclusive"):
                for name, share in top[kind]:
                    print(f"  {kind:9} {share:5.1f}%  {name}")


def waited_for_cpu(pid: int) -> float:
    """Seconds a process's main thread (its event loop) has spent ready to run but
    waiting for a CPU (Linux ``/proc/<pid>/task/<pid>/schedstat``, second field)."""
    try:
        return int(Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


async def idle_cpu(server_pid: int, seconds: float = 3.0) -> float:
    """The server's CPU seconds per second with no traffic (timers, background polls)."""
    await asyncio.sleep(0.5)  # let the set-up's last acknowledgements settle
    before = cpu_seconds(server_pid)
    await asyncio.sleep(seconds)
    return (cpu_seconds(server_pid) - before) / seconds


async def ciphertext_bytes(receiver: Messenger) -> int:
    """The size of one normal Olm message of a set-up text (as long as the benchmark's)."""
    body = (await receiver.client.read_stream(0))["events"]
    sizes = [len(e["body"]["ciphertext"]["body"]) * 3 // 4 for e in body
             if e["kind"] == "message"]
    return max(sizes, default=0)


def settings(args: argparse.Namespace) -> dict[str, str]:
    """What is on, and how it was run (printed by every script that uses this one)."""
    return {"client path": f"SDK Messenger.send_text over {args.path}"
            + (" (event-stream connection open)" if args.path == "socket"
               else " (POST /api/v1/messages)"),
            "database": ("postgresql" if args.database_url else
                         "sqlite, WAL, synchronous=FULL") + ", answer after COMMIT",
            "auth": "bearer token checked per send", "franking": "on",
            "rate limits": f"on; send {SEND_LIMIT}, not raised; raised for the load "
                           f"generator's sign-ups from one address: {RATES}",
            "encryption": "real Olm per message"}


def measure(args: argparse.Namespace) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Start a server, run every concurrency level against it; (figures, fsync probe)."""
    with tempfile.TemporaryDirectory() as tmp:
        fsync = fsync_probe(Path(tmp))
        port = free_port()
        server = start_server(Path(tmp), port, args.database_url)
        url = f"http://127.0.0.1:{port}"
        try:
            import uvloop

            async def go() -> list[dict[str, Any]]:
                for attempt in range(6):  # a loaded machine starts the server slowly
                    try:
                        await wait_up(url)
                        break
                    except RuntimeError:
                        if attempt == 5:
                            raise
                return await bench(args, url, pid)

            pid = served_pid(server)
            results = uvloop.run(go())
        finally:
            os.kill(served_pid(server), 15)  # py-spy writes its profile when the server ends
            server.wait(30)
    return results, fsync


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32],
                        help="closed-loop senders (one receiver each)")
    parser.add_argument("--messages", type=int, default=2000, help="per concurrency level")
    parser.add_argument("--text-chars", type=int, default=300,
                        help="characters per message (300: about a 700-byte Olm ciphertext)")
    parser.add_argument("--path", choices=["socket", "http"], default="socket")
    parser.add_argument("--profile", type=Path, default=None, metavar="DIR",
                        help="py-spy the server and the client process during each level "
                             "(raw stacks into DIR) and print where each spent its CPU")
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL URL (default: SQLite in a temporary directory)")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    print("settings: " + json.dumps(settings(args)), flush=True)
    results, fsync = measure(args)
    print(json.dumps({"fsync_before_run": fsync,
                      "loadavg_1m": {"before": round(load_before, 2),
                                     "after": round(os.getloadavg()[0], 2),
                                     "cpus": os.cpu_count()},
                      "command": "PYTHONPATH=src python " + shlex.join(sys.argv)}, indent=2))
    if args.profile is not None:
        print_profiles(args.profile, args.concurrency)
    for r in results:
        c = r["senders"]
        report(f"SDK send ({args.path}) C={c} delivered", r["messages_per_s"], "msg/s",
               ">= 20x Synapse at C=32" if c == 32 else "")
        report(f"SDK send ({args.path}) C={c} send to callback p50", r["p50_ms"], "ms")
        report(f"SDK send ({args.path}) C={c} send to callback p99", r["p99_ms"], "ms",
               "<= 50 ms at C=32" if c == 32 else "")


if __name__ == "__main__":
    main()

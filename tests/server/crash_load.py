"""Parts of the crash-durability test (``test_crash_durability.py``): one real
``tidings serve`` OS process that can be SIGKILLed and started again on the same data,
and SDK clients that keep sending and receiving across the kills.

Every client keeps its own books: what the server acknowledged (a ``sent`` frame on the
WebSocket, a 2xx over HTTP), what was sent but never answered, and what each device
received, at which stream position. The test compares the books afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from tests.conftest import free_port
from tests.server.crash_serve import SPARE_DIR
from tidings.client.e2ee import Received
from tidings.client.messaging import Inbox, Messenger, Undecryptable
from tidings.client.sdk import TidingsClient
from tidings.protocol.errors import TidingsError
from tidings.protocol.payload import MessageContent

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 30.0
REPLY_TIMEOUT_S = 15.0
"""A live server answers a send well within this; only a dead one stays silent."""
RETRY_PAUSE_S = 0.05

LOST = (ConnectionClosed, InvalidHandshake, OSError, TimeoutError)
"""What a client sees when the server is killed under it (mid-handshake too) or is
not back yet."""


def unanswered(exc: BaseException) -> bool:
    """Did this call fail because the server went away (outcome unknown)? Anything
    else, a 4xx above all, is a real error and fails the test."""
    if isinstance(exc, LOST):
        return True
    if isinstance(exc, TidingsError):
        return exc.code == "unreachable" or exc.status >= 500
    return False


def went_out(exc: BaseException, path_end: str) -> bool:
    """Could the request that failed have reached the server? Not if it was another
    request (a key query before the send) or the connection was never made."""
    cause = exc.__cause__ if isinstance(exc, TidingsError) else exc
    if isinstance(cause, httpx.ConnectError):
        return False
    if isinstance(cause, httpx.HTTPError):
        try:
            return cause.request.url.path.endswith(path_end)
        except RuntimeError:  # no request attached
            return True
    return True


class ServerProcess:
    """``tidings serve`` on a fixed port, with the in-process bus.

    Spare processes (``crash_serve.py``) import everything ahead and wait for the word
    to start, so a restart costs what starting on recovered data costs, not the import
    time (seconds on a busy 2-core machine). They are made right after the first start
    and import, one at a time, while the clients are being set up.
    """

    def __init__(self, data: Path, database_url: str) -> None:
        self.data = data
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data.parent / "serve.log"
        self.env = {k: v for k, v in os.environ.items() if k != "TIDINGS_REDIS_URL"}
        self.env.update({"PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
                         "TIDINGS_DATABASE_URL": database_url,
                         "TIDINGS_RATE_LIMITS": "false",
                         "TIDINGS_LOG_LEVEL": "warning",
                         SPARE_DIR: str(data.parent)})
        self.proc: subprocess.Popen[bytes] | None = None
        self.spares: list[subprocess.Popen[bytes]] = []
        self._breeding: asyncio.Task[None] | None = None
        self.kills = 0
        self.start_s: list[float] = []
        """How long each start took until ``/readyz`` answered."""

    def _spawn(self) -> subprocess.Popen[bytes]:
        with self.log_path.open("ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "tests.server.crash_serve", "serve",
                 "--data", str(self.data), "--port", str(self.port)],
                env=self.env, cwd=ROOT, stdin=subprocess.PIPE, stdout=log, stderr=log)

    def make_spares(self, count: int) -> None:
        """Spares import one after another in the background (each takes a core for
        a while; together they would starve the clients being set up)."""
        self._breeding = asyncio.create_task(self._breed(count))

    async def _breed(self, count: int) -> None:
        for _ in range(count):
            proc = self._spawn()
            self.spares.append(proc)
            while not self._ready(proc) and proc.poll() is None:
                await asyncio.sleep(0.05)

    def _ready(self, proc: subprocess.Popen[bytes]) -> bool:
        return (self.data.parent / f"{proc.pid}.ready").exists()

    def spare_ready(self) -> bool:
        """Is the next spare done importing (so a restart now is only a restart)?"""
        if self.spares:
            return self._ready(self.spares[0])
        return self._breeding is None or self._breeding.done()

    async def start(self) -> float:
        """Start (the next spare, if any) and wait until ``/readyz`` answers; returns
        the seconds that took."""
        began = time.monotonic()
        self.proc = self.spares.pop(0) if self.spares else self._spawn()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.close()
        async with httpx.AsyncClient(timeout=2) as http:
            while time.monotonic() - began < READY_TIMEOUT_S:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"tidings serve exited: {self.log()}")
                try:
                    if (await http.get(self.url + "/readyz")).status_code == 200:
                        self.start_s.append(time.monotonic() - began)
                        return self.start_s[-1]
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.02)
        raise RuntimeError(f"tidings serve not ready: {self.log()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no draining, no goodbye frames."""
        assert self.proc is not None and self.proc.poll() is None, self.log()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.kills += 1

    def stop(self) -> None:
        if self._breeding is not None:
            self._breeding.cancel()
        for proc in [*([self.proc] if self.proc else []), *self.spares]:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if proc.stdin is not None and not proc.stdin.closed:
                proc.stdin.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() \
            else ""


@dataclass
class Books:
    """One sender's record of what happened to each of its numbered sends."""

    name: str
    acked: dict[int, str] = field(default_factory=dict)
    """n -> the id the server answered with."""
    abandoned: set[int] = field(default_factory=set)
    """Sent, never answered, not retried: may be delivered once, or not at all."""
    unanswered: int = 0
    """Sends whose answer never came because the server died (retried or abandoned)."""
    retried: int = 0
    """Of those, resent with the same client-side id."""

    def attempted(self) -> set[int]:
        return set(self.acked) | self.abandoned


def text_of(name: str, n: int) -> str:
    return f"{name}#{n}"


def parse_text(text: str) -> tuple[str, int]:
    name, _, n = text.rpartition("#")
    return name, int(n)


class Sender:
    """Sends numbered texts to one user, one at a time (each waits for its answer, so
    the order is causal and must be kept). When the server dies after a send went out
    and before its answer came, the send is either resent with the same ``client_id``
    until it is answered (``retry`` chance) or given up."""

    def __init__(self, messenger: Messenger, to: str, chance: Callable[[], float],
                 retry: float) -> None:
        self.messenger = messenger
        self.to = to
        self.chance = chance
        self.retry = retry
        self.books = Books(messenger.user)
        self.resending = False

    def content(self, n: int) -> MessageContent:
        return MessageContent("text", {"text": text_of(self.books.name, n)},
                              f"{self.books.name}.{n}", int(time.time() * 1000))

    def lost(self, n: int) -> bool:
        """Book a send that went out and died with the server; True to resend it."""
        if self.resending:
            return True  # decided already: keep resending until it is answered
        self.books.unanswered += 1
        if self.chance() < self.retry:
            self.books.retried += 1
            self.resending = True
            return True
        self.books.abandoned.add(n)
        return False

    def answered(self, n: int, message_id: str) -> None:
        self.books.acked[n] = message_id
        self.resending = False

    async def run(self, stop: asyncio.Event) -> None:
        raise NotImplementedError


class HttpSender(Sender):
    """The SDK's own send (``Messenger.send_content``: query, claim, encrypt, POST)."""

    async def run(self, stop: asyncio.Event) -> None:
        n = 0
        content: MessageContent | None = None
        while not stop.is_set() or content is not None:
            content = content or self.content(n)
            try:
                answer = await self.messenger.send_content(self.to, content)
            except Exception as exc:
                if not unanswered(exc):
                    raise
                if went_out(exc, "/api/v1/messages") and not self.lost(n):
                    content, n = None, n + 1
                await asyncio.sleep(RETRY_PAUSE_S)
                continue
            self.answered(n, str(answer["id"]))
            content, n = None, n + 1


class WsSender(Sender):
    """Encrypts with the SDK's device crypto and sends ``send`` frames on the device's
    WebSocket; a resend after a crash is the very same frame (an outbox)."""

    async def frame(self, n: int) -> str:
        m = self.messenger
        found = (await m.query([self.to]))[self.to]
        targets = list(found.values())
        need = [r.device_id for r in targets if not m.crypto.has_session(r)]
        claimed = await m.claim({self.to: need}) if need else {}
        content = self.content(n)
        envelopes, commitment = m.crypto.encrypt(content, targets, claimed)
        return json.dumps({"type": "send", "ref": str(n), "client_id": content.client_id,
                           "to": self.to, "commitment": commitment, "envelopes": envelopes})

    async def run(self, stop: asyncio.Event) -> None:
        n = 0
        pending: str | None = None
        while not stop.is_set() or pending is not None:
            out = False
            try:
                async with self.messenger.client.transport.connect(0) as ws:
                    while not stop.is_set() or pending is not None:
                        pending = pending or await self.frame(n)
                        await ws.send(pending)
                        out = True
                        while True:
                            reply = json.loads(await asyncio.wait_for(ws.recv(),
                                                                      REPLY_TIMEOUT_S))
                            if reply.get("ref") == str(n):
                                break
                        if reply["type"] != "sent":
                            raise AssertionError(f"send refused: {reply}")
                        self.answered(n, str(reply["id"]))
                        pending, n, out = None, n + 1, False
            except Exception as exc:
                if not unanswered(exc):
                    raise
                if out and not self.lost(n):
                    pending, n = None, n + 1
                await asyncio.sleep(RETRY_PAUSE_S)


class Poster:
    """Publishes numbered posts to a channel over HTTP (SDK ``publish``). Posts have no
    client-side id, so an unanswered post is never resent: it may appear once or not."""

    def __init__(self, client: TidingsClient, name: str, handle: str) -> None:
        self.client = client
        self.handle = handle
        self.books = Books(name)

    async def run(self, stop: asyncio.Event) -> None:
        n = 0
        while not stop.is_set():
            try:
                made = await self.client.publish(self.handle, text_of(self.books.name, n))
            except Exception as exc:
                if not unanswered(exc):
                    raise
                if went_out(exc, "/posts"):
                    self.books.unanswered += 1
                    self.books.abandoned.add(n)
                    n += 1
                await asyncio.sleep(RETRY_PAUSE_S)
                continue
            assert made["state"] == "visible", made
            self.books.acked[n] = str(made["number"])
            n += 1


@dataclass(frozen=True, slots=True)
class Delivery:
    seq: int
    id: str
    sender: str
    n: int


@dataclass
class Receiver:
    """One device holding its stream: resumes from the last position it saw
    (``hello since``), decrypts every message with the SDK, acknowledges every
    ``ack_every`` events (never, if 0: the server then keeps the whole stream)."""

    messenger: Messenger
    ack_every: int
    last: int = 0
    deliveries: list[Delivery] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Positions out of order, undecryptable messages: each one fails the test."""
    reconnects: int = 0

    @property
    def device_id(self) -> str:
        return self.messenger.crypto.device_id

    async def run(self, stop: asyncio.Event) -> None:
        acked = 0
        client = self.messenger.client
        while not stop.is_set():
            try:
                async with client.transport.connect(self.last) as ws:
                    while not stop.is_set():
                        try:
                            raw = await asyncio.wait_for(ws.recv(), 0.2)
                        except TimeoutError:
                            continue
                        frame = json.loads(raw)
                        if frame.get("type") != "event":
                            continue
                        await self.take(frame)
                        if self.ack_every and self.last - acked >= self.ack_every:
                            await ws.send(json.dumps({"type": "ack", "upto": self.last}))
                            acked = self.last
            except Exception as exc:
                if not unanswered(exc):
                    raise
                self.reconnects += 1
                await asyncio.sleep(RETRY_PAUSE_S * 2)

    async def take(self, frame: dict[str, Any]) -> None:
        seq = int(frame["seq"])
        if seq <= self.last:
            self.problems.append(f"{self.device_id}: position {seq} after {self.last}")
        if frame["kind"] == "message":
            inbox = Inbox()
            await self.messenger.handle_event("message", frame["body"], inbox)
            for item in inbox.items:
                if isinstance(item, Undecryptable):
                    self.problems.append(f"{self.device_id}: undecryptable {item.summary()}")
                elif isinstance(item, Received):
                    sender, n = parse_text(item.text)
                    if sender != item.sender:
                        self.problems.append(f"{self.device_id}: {item.text} from {item.sender}")
                    self.deliveries.append(Delivery(seq, item.id, sender, n))
        self.last = seq
        self.messenger.client.save_position(seq)

    def ids(self) -> set[str]:
        return {d.id for d in self.deliveries}


async def stored_messages(client: TidingsClient) -> list[tuple[int, str]]:
    """The device's whole stored stream over HTTP (``GET /stream``), message events only."""
    out: list[tuple[int, str]] = []
    since = 0
    while True:
        page = await client.read_stream(since)
        if not page["events"]:
            return out
        for event in page["events"]:
            if event["kind"] == "message":
                out.append((event["seq"], event["body"]["id"]))
            since = event["seq"]


async def channel_history(client: TidingsClient, handle: str) -> list[dict[str, Any]]:
    """Every post of the channel, newest first, paged with ``before``."""
    posts: list[dict[str, Any]] = []
    before: int | None = None
    while True:
        page = await client.history(handle, before=before, limit=100)
        posts.extend(page["posts"])
        if page["next_before"] is None:
            return posts
        before = page["next_before"]


async def channel_log(client: TidingsClient, handle: str) -> list[dict[str, Any]]:
    """The channel's update log from the start (``/updates?since=``)."""
    updates: list[dict[str, Any]] = []
    since = 0
    while True:
        page = await client.channel_updates(handle, since, 100)
        if not page["updates"]:
            return updates
        updates.extend(page["updates"])
        since = page["updates"][-1]["seq"]

"""The device's live event stream, read for the chat client in a Textual worker.

The same steps as ``Messenger.receive`` (decrypt through ``Messenger.handle_event``,
save the key store, then acknowledge), but it never stops: frames that arrive together
are handled as one batch (one key store write and one ack for a catch-up of many
events), channel post frames are passed on, and a dropped connection is retried with
backoff from the saved stream position, so nothing is lost or shown twice.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import websockets

from tidings.client.messaging import Inbox, Messenger
from tidings.protocol.errors import TidingsError
from tidings.protocol.keys import CryptoError

BATCH_WAIT_S = 0.05
"""How long to wait for the next frame before handling what arrived."""
BATCH_MAX = 100
RECONNECT_MIN_S = 0.5
RECONNECT_MAX_S = 15.0


@dataclass
class Batch:
    inbox: Inbox = field(default_factory=Inbox)
    posts: list[dict[str, Any]] = field(default_factory=list)
    """Live ``channel`` frames of followed channels."""
    live: bool = False
    """The catch-up is done: from here on events arrive as they are sent."""


OnBatch = Callable[[Batch], Awaitable[None]]
OnState = Callable[[str], None]


class StreamLoop:
    def __init__(self, messenger: Messenger, on_batch: OnBatch, on_state: OnState) -> None:
        self.m = messenger
        self.on_batch = on_batch
        self.on_state = on_state
        self.went_live = False

    async def run(self) -> None:
        delay = RECONNECT_MIN_S
        while True:
            self.went_live = False
            try:
                await self._connection()
            except (TidingsError, CryptoError, OSError, ValueError, KeyError,
                    websockets.WebSocketException) as exc:  # the reader must outlive them
                self.on_state(f"offline ({exc}); retrying in {delay:.0f} s")
            if self.went_live:  # it worked for a while: start the backoff over
                delay = RECONNECT_MIN_S
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_S)

    async def _connection(self) -> None:
        self.m.purge_expired()
        profile = self.m.client.profile
        since = profile.stream_pos if profile else 0
        async with self.m.client.transport.connect(since) as conn:
            self.on_state("connecting")
            while True:
                frames = [await conn.recv()]
                while len(frames) < BATCH_MAX:
                    try:
                        # recv() is cancellation-safe: a timeout loses no frame.
                        frames.append(await asyncio.wait_for(conn.recv(), BATCH_WAIT_S))
                    except TimeoutError:
                        break
                await self._handle(frames)

    async def _handle(self, frames: list[str | bytes]) -> None:
        batch = Batch()
        last: int | None = None
        for raw in frames:
            frame = json.loads(raw)
            kind = frame.get("type")
            if kind == "event":
                await self.m.handle_event(str(frame["kind"]), dict(frame["body"]), batch.inbox)
                last = int(frame["seq"])
            elif kind == "channel":
                batch.posts.append(frame)
            elif kind == "live":
                batch.live = self.went_live = True
                self.on_state("live")
        if last is not None:
            self.m.save()  # the ratchet state that read them is on disk before the ack
            # an ack frame on the open socket, no HTTP request: a lost one only keeps
            # events in the store longer (reconnects resume from the saved position)
            await self.m.client.ack(last, over_socket=True)
        await self.on_batch(batch)

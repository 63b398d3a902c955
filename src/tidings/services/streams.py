"""Per-device event streams: durable append, then live publish on the bus."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.bus.base import Bus
from tidings.protocol.control import Event, compact, event_frame
from tidings.services.clock import Clock
from tidings.services.live import to_device
from tidings.storage.committer import AppendJob, GroupCommitter
from tidings.storage.database import Database
from tidings.storage.records import StreamEvent
from tidings.storage.streams import StreamStore

dumps = compact
"""Stored bodies are compact JSON, the form ``splice`` puts into frames unparsed."""


Expand = Callable[[Sequence[StreamEvent]], Awaitable[list[StreamEvent]]]
"""Turns stored events into delivered ones: a group message's event refers to its
once-stored ciphertext, which is put in here (services/group_ciphertexts.py)."""


async def publish_events(bus: Bus, expand: Expand | None, events: Sequence[StreamEvent]
                         ) -> None:
    """Publish committed events to their devices' live topics, expanded first."""
    if expand is not None:
        events = await expand(events)
    for e in events:
        frame = event_frame(e.seq, e.kind, e.created_at, e.body)
        await to_device(bus, e.device_id, Event(e.seq, frame))


class StreamService:
    def __init__(self, db: Database, store: StreamStore, bus: Bus, clock: Clock,
                 committer: GroupCommitter | None = None, expand: Expand | None = None
                 ) -> None:
        self.db = db
        self.store = store
        self.bus = bus
        self.clock = clock
        self.committer = committer
        """When given, appends and acks go through group commit (storage/committer.py);
        it publishes with :func:`publish_events` over the same bus and ``expand``."""
        self.expand = expand

    async def append_in(self, conn: AsyncConnection,
                        items: Sequence[tuple[str, str, Any]]) -> list[StreamEvent]:
        """Append inside the caller's transaction; call :meth:`publish` after commit."""
        return await self.store.append(
            conn, [(device, kind, dumps(body)) for device, kind, body in items], self.clock())

    async def append(self, items: Sequence[tuple[str, str, Any]]) -> list[StreamEvent]:
        if self.committer is not None:
            done = await self.committer.append(
                AppendJob([(device, kind, dumps(body)) for device, kind, body in items]))
            return list(done.events)
        async with self.db.write() as conn:
            events = await self.append_in(conn, items)
        await self.publish(events)
        return events

    async def publish(self, events: Sequence[StreamEvent]) -> None:
        await publish_events(self.bus, self.expand, events)

    async def read(self, device_id: str, after: int, limit: int) -> list[StreamEvent]:
        async with self.db.read() as conn:
            events = await self.store.read(conn, device_id, after, limit)
        return await self.expand(events) if self.expand is not None else events

    async def ack(self, device_id: str, upto: int) -> int:
        if self.committer is not None:
            return await self.committer.ack(device_id, upto)
        async with self.db.write() as conn:
            return await self.store.ack(conn, device_id, upto)

    async def head(self, device_id: str) -> int:
        async with self.db.read() as conn:
            return await self.store.head(conn, device_id)

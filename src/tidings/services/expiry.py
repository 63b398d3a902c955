"""The disappearing-message sweeper: what expired is deleted, delivered or not.

Runs every ``DISAPPEAR_SWEEP_S`` in each server process (deletes are idempotent, so
several processes sweeping at once only repeat each other). It deletes

- stream events of disappearing messages past their ``expires_at`` (``expiring_events``
  records which, by device and seq), so an offline device never receives them;
- group message ciphertexts past expiry, and those no device still references;
- encrypted attachment blobs past expiry (services/attachments.py).

Clients delete their own copies at the same time (client/disappearing.py).
"""

from __future__ import annotations

import sqlalchemy as sa

from tidings.services.attachments import AttachmentService
from tidings.services.clock import Clock
from tidings.services.groups import GroupService
from tidings.storage.database import Database
from tidings.storage.group_schema import expiring_events
from tidings.storage.schema import stream_events


class ExpiryService:
    def __init__(self, db: Database, groups: GroupService, attachments: AttachmentService,
                 clock: Clock) -> None:
        self.db = db
        self.groups = groups
        self.attachments = attachments
        self.clock = clock

    async def sweep(self) -> dict[str, int]:
        now = self.clock()
        due = sa.select(expiring_events.c.device_id).where(
            expiring_events.c.device_id == stream_events.c.device_id,
            expiring_events.c.seq == stream_events.c.seq, expiring_events.c.expires_at <= now)
        async with self.db.write() as conn:
            events = await conn.execute(stream_events.delete().where(sa.exists(due)))
            await conn.execute(expiring_events.delete().where(
                expiring_events.c.expires_at <= now))
        return {"events": int(events.rowcount or 0), "group_messages": await self.groups.prune(),
                "attachments": await self.attachments.prune()}

"""The system inbox: notices (statements of reasons, report outcomes, appeal answers).

A notice is stored per user (so it survives devices that are offline or added later)
and appended to each of the user's device streams, so a connected client gets it over
the WebSocket at once, like any other stream event (kind ``notice``).
"""

from __future__ import annotations

import json
from typing import Any

from tidings.services.clock import Clock
from tidings.services.streams import StreamService, dumps
from tidings.storage.accounts import AccountStore
from tidings.storage.database import Database
from tidings.storage.reports import ReportStore

NOTICE_KIND = "notice"
NOTICES_PAGE_MAX = 200


class NoticeService:
    def __init__(self, db: Database, store: ReportStore, accounts: AccountStore,
                 streams: StreamService, clock: Clock) -> None:
        self.db = db
        self.store = store
        self.accounts = accounts
        self.streams = streams
        self.clock = clock

    async def deliver(self, user_id: int, kind: str, case_id: str | None,
                      body: dict[str, Any]) -> int:
        now = self.clock()
        async with self.db.write() as conn:
            notice_id = await self.store.insert_notice(
                conn, user_id=user_id, kind=kind, case_id=case_id, body=dumps(body),
                created_at=now)
            devices = await self.accounts.devices_of(conn, user_id)
        event = {"id": notice_id, "kind": kind, "case_id": case_id, "ts": now, **body}
        if devices:
            await self.streams.append([(d.id, NOTICE_KIND, event) for d in devices])
        return notice_id

    async def list(self, user_id: int, limit: int = 50) -> list[dict[str, Any]]:
        limit = max(1, min(limit, NOTICES_PAGE_MAX))
        async with self.db.read() as conn:
            rows = await self.store.notices(conn, user_id, limit)
        return [{"id": r.id, "kind": r.kind, "case_id": r.case_id, "ts": r.created_at,
                 **json.loads(r.body)} for r in rows]

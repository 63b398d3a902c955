"""Close the sockets of ended sessions on this process, within a second.

Every connection registers here with its user and device. A measure that ends a
session reaches every process two ways (docs/decisions.md, "Gateway and control
messages"):

- at once, as ``SessionEnded`` on the bus's ``sessions`` topic (Redis between
  processes), published by the service that took the measure after its commit;
- from the session log (``storage/sessions.py``), which this process reads every
  ``SESSION_END_POLL_S``: the record, for measures taken where there is no bus (the CLI's
  ``admin set-password`` against a single-process SQLite server) and for bus messages
  lost while Redis was away.

Closing is idempotent, so seeing one measure both ways costs nothing. The connection's
own ``end`` callback marks it ended at once (its later sends are refused) and wakes
its writer, which closes the socket with 4003 and the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from functools import partial

from sqlalchemy.exc import SQLAlchemyError

from tidings.bus.base import Bus, Subscription
from tidings.protocol import limits
from tidings.protocol.control import ControlError, EndReason, SessionEnded, decode_session
from tidings.services.clock import Clock
from tidings.services.live import SESSIONS_TOPIC
from tidings.storage.database import Database
from tidings.storage.sessions import SessionEndStore

log = logging.getLogger(__name__)

End = Callable[[EndReason], None]
"""Ends one connection: must not block."""

PRUNE_EVERY = 120
"""Polls between two prunes of the log (one minute at the default interval)."""


class SessionWatch:
    def __init__(self, db: Database, store: SessionEndStore, bus: Bus, clock: Clock,
                 poll_s: float = limits.SESSION_END_POLL_S) -> None:
        self.db = db
        self.store = store
        self.bus = bus
        self.clock = clock
        self.poll_s = poll_s
        self._users: dict[int, dict[int, tuple[str, End]]] = {}
        self._next = 0
        self._last_id = 0
        self._seen: dict[int, int] = {}
        """Log ids read within the lookback window, with their time (read once each)."""
        self._subscription: Subscription | None = None
        self._task: asyncio.Task[None] | None = None
        self.closed = 0
        """Connections this process closed because their session ended (for metrics)."""

    async def start(self) -> None:
        """Begin after the log as it stands: what it holds ended before any connection
        of this process existed (and those sessions can no longer authenticate)."""
        since = self.clock() - limits.SESSION_END_LOOKBACK_MS
        async with self.db.read() as conn:
            self._last_id = await self.store.head(conn)
            recent = await self.store.after(conn, self._last_id, since,
                                            limits.SESSION_END_READ_MAX)
        for row_id, ended in recent:
            self._seen[row_id] = ended.at_ms
            self._last_id = max(self._last_id, row_id)
        self._subscription = self.bus.subscribe(SESSIONS_TOPIC, self._on_bus)
        self._task = asyncio.create_task(self._poll_forever(), name="session-watch")

    async def close(self) -> None:
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def register(self, user_id: int, device_id: str, end: End) -> Subscription:
        """Watch one connection until the returned handle is closed."""
        self._next += 1
        key = self._next
        self._users.setdefault(user_id, {})[key] = (device_id, end)
        return Subscription(partial(self._unregister, user_id, key))  # no closure a socket

    def _unregister(self, user_id: int, key: int) -> None:
        conns = self._users.get(user_id)
        if conns is not None:
            conns.pop(key, None)
            if not conns:
                del self._users[user_id]

    def connections(self) -> int:
        return sum(len(c) for c in self._users.values())

    def apply(self, ended: SessionEnded) -> int:
        """Close this process's connections of the ended session; how many."""
        conns = self._users.get(ended.user_id)
        if not conns:
            return 0
        hit = [(key, end) for key, (device, end) in conns.items()
               if ended.device_id is None or device == ended.device_id]
        for key, end in hit:
            conns.pop(key, None)  # ended once, whichever way the news came first
            end(ended.reason)
        if not conns:
            self._users.pop(ended.user_id, None)
        self.closed += len(hit)
        return len(hit)

    def _on_bus(self, message: bytes) -> None:
        try:
            ended = decode_session(message)
        except ControlError as exc:
            log.warning("sessions: dropped a bus message: %s", exc)
            return
        self.apply(ended)

    async def poll(self) -> int:
        """Read the log once; apply what this process has not seen; how many closed."""
        now = self.clock()
        since = now - limits.SESSION_END_LOOKBACK_MS
        async with self.db.read() as conn:
            rows = await self.store.after(conn, self._last_id, since,
                                          limits.SESSION_END_READ_MAX)
        closed = 0
        for row_id, ended in rows:
            self._last_id = max(self._last_id, row_id)
            if row_id in self._seen:
                continue
            self._seen[row_id] = ended.at_ms
            closed += self.apply(ended)
        for row_id, at in list(self._seen.items()):
            if at < since:
                del self._seen[row_id]
        return closed

    async def _poll_forever(self) -> None:
        polls = 0
        while True:
            await asyncio.sleep(self.poll_s)
            polls += 1
            try:
                await self.poll()
                if polls % PRUNE_EVERY == 0:
                    async with self.db.write() as conn:
                        await self.store.prune(conn, self.clock() - limits.SESSION_END_KEEP_MS)
            except (OSError, SQLAlchemyError) as exc:
                log.warning("sessions: reading the session log failed, retrying: %s", exc)

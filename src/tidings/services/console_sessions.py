"""Web console sessions: server-side, with idle and absolute timeouts (issue 20 item 7).

Why not the API's device tokens: a cookie that is a full API token turns any leak of
the cookie (a proxy log, a shared browser profile) into API access, and a session that
ends only when the cookie's Max-Age runs out cannot be ended by the server. So a
console login makes no device and no token. The cookie carries a random session id
with its own prefix (``tcs_``): the API refuses it (it is not a ``tdg_`` token) and the
console refuses API tokens (they are not in this table). The server keeps a keyed hash
of the id, a per-session CSRF secret, and the times two timeouts count from:

- idle: no request for ``idle_ms`` (default 30 minutes) ends the session;
- absolute: ``max_ms`` (default 12 hours) after login it ends however busy it is.

Logout deletes the row; suspension, password reset, deletion and a change of role
delete all of the account's rows (``storage/accounts.py``), and a session whose account
is suspended or deleted is refused even before that.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from tidings.services.accounts import Principal
from tidings.services.clock import Clock
from tidings.storage.accounts import AccountStore
from tidings.storage.console_sessions import ConsoleSessionRecord, ConsoleSessionStore
from tidings.storage.database import Database

SESSION_PREFIX = "tcs_"
SESSION_ID_BYTES = 32
CSRF_BYTES = 24
TOUCH_GRANULARITY_MS = 30_000
"""last_seen is written at most every 30 s per session: idle timeouts are minutes."""
CONSOLE_DEVICE = "console"
"""The ``device_id`` of a console principal: no device exists behind it."""


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    principal: Principal
    csrf: str
    expires_at: int
    """When the session ends if nothing else ends it first (the absolute timeout)."""


def _new_id() -> str:
    raw = secrets.token_bytes(SESSION_ID_BYTES)
    return SESSION_PREFIX + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class ConsoleSessions:
    def __init__(self, db: Database, store: ConsoleSessionStore, accounts: AccountStore,
                 hash_id: Callable[[str], str], clock: Clock, idle_ms: int,
                 max_ms: int) -> None:
        self.db = db
        self.store = store
        self.accounts = accounts
        self._hash = hash_id
        self.clock = clock
        self.idle_ms = idle_ms
        self.max_ms = max_ms

    async def start(self, user_id: int) -> tuple[str, ConsoleSession]:
        """A new session for an account whose password was just checked: the cookie
        value (shown once, never stored) and the session."""
        session_id = _new_id()
        now = self.clock()
        record = ConsoleSessionRecord(self._hash(session_id), user_id,
                                      secrets.token_urlsafe(CSRF_BYTES), now, now)
        async with self.db.write() as conn:
            await self.store.prune(conn, now - self.idle_ms, now - self.max_ms)
            await self.store.create(conn, record)
            user = await self.accounts.user_by_id(conn, user_id)
        assert user is not None
        who = Principal(user.id, user.username, user.role, CONSOLE_DEVICE)
        return session_id, ConsoleSession(who, record.csrf, now + self.max_ms)

    async def resolve(self, session_id: str) -> ConsoleSession | None:
        """The live session behind a cookie value, or None (unknown, expired, or its
        account suspended or deleted). An expired session's row is deleted."""
        if not session_id.startswith(SESSION_PREFIX) or len(session_id) > 128:
            return None
        id_hash = self._hash(session_id)
        async with self.db.read() as conn:
            record = await self.store.get(conn, id_hash)
            user = await self.accounts.user_by_id(conn, record.user_id) if record else None
        if record is None or user is None:
            return None
        now = self.clock()
        expired = (now - record.last_seen_at >= self.idle_ms
                   or now - record.created_at >= self.max_ms)
        if expired or user.deleted_at is not None or user.suspended_at is not None:
            async with self.db.write() as conn:
                await self.store.delete(conn, id_hash)
            return None
        if now - record.last_seen_at >= TOUCH_GRANULARITY_MS:
            async with self.db.write() as conn:
                await self.store.touch(conn, id_hash, now)
        who = Principal(user.id, user.username, user.role, CONSOLE_DEVICE)
        return ConsoleSession(who, record.csrf, record.created_at + self.max_ms)

    async def end(self, session_id: str) -> None:
        """Log out: the session's row goes, so the cookie is worth nothing from now."""
        async with self.db.write() as conn:
            await self.store.delete(conn, self._hash(session_id))

    async def count(self, user_id: int) -> int:
        async with self.db.read() as conn:
            return await self.store.count_for_user(conn, user_id)

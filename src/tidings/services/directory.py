"""Who has which keyed devices: a small read cache in front of the key directory.

Every send checks its envelope set against the recipient's and the sender's devices.
Reading that from the database per message would cost more than the message itself,
so answers are cached for ``DIRECTORY_CACHE_TTL_MS`` and dropped at once when this
process stores new device keys. The cache is only trusted to say "yes, this set is
right": a mismatch is re-checked against the database before anyone gets a 409, and
a device revoked meanwhile is skipped when its stream is appended to. So a stale
entry can at worst delay a brand-new device of another server process by the TTL.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from tidings.services.clock import Clock
from tidings.storage.accounts import AccountStore
from tidings.storage.database import Database
from tidings.storage.keys import KeyDirectoryStore
from tidings.storage.plan import Plan

DIRECTORY_CACHE_TTL_MS = 5_000
DIRECTORY_CACHE_MAX = 50_000


@dataclass(frozen=True, slots=True)
class UserDevices:
    user_id: int
    username: str
    devices: dict[str, str]
    """device_id -> curve25519 identity key, for devices that published keys."""


class DirectoryCache:
    def __init__(self, db: Database, accounts: AccountStore, keys: KeyDirectoryStore,
                 clock: Clock) -> None:
        self.db = db
        self.accounts = accounts
        self.keys = keys
        self.clock = clock
        self._by_name: dict[str, tuple[int, UserDevices | None]] = {}
        self._loading: dict[str, asyncio.Future[UserDevices | None]] = {}
        """One read per name at a time: concurrent misses wait for it (no stampede)."""

    def invalidate(self, user_id: int) -> None:
        for name, (_, entry) in list(self._by_name.items()):
            if entry is not None and entry.user_id == user_id:
                del self._by_name[name]

    async def get(self, username: str, *, fresh: bool = False) -> UserDevices | None:
        """The user's keyed devices, or None for an unknown or deleted user."""
        now = self.clock()
        hit = self._by_name.get(username)
        if hit is not None and not fresh and now - hit[0] < DIRECTORY_CACHE_TTL_MS:
            return hit[1]
        loading = self._loading.get(username)
        if loading is not None and not fresh:
            return await asyncio.shield(loading)
        future: asyncio.Future[UserDevices | None] = asyncio.get_running_loop().create_future()
        self._loading[username] = future
        try:
            entry = await self._load(username)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody else must
            raise
        finally:
            if self._loading.get(username) is future:
                del self._loading[username]
        future.set_result(entry)
        if len(self._by_name) >= DIRECTORY_CACHE_MAX:
            self._by_name.clear()
        self._by_name[username] = (now, entry)
        return entry

    async def _load(self, username: str) -> UserDevices | None:
        # One snapshot, one hop to a reader thread (Database.read_plan): a reload per
        # user per TTL is on the send path.
        return await self.db.read_plan(self._load_plan(username))

    def _load_plan(self, username: str) -> Plan[UserDevices | None]:
        user = yield from self.accounts.user_by_name_plan(username)
        if user is None or user.deleted_at is not None:
            return None
        keyed = yield from self.keys.curve_keys_plan([user.id])
        return UserDevices(user.id, user.username, {d: curve for d, (_, curve) in keyed.items()})

"""The key directory: devices publish signed keys, others query and claim them.

The server is an untrusted directory (Olm spec, "Initial setup": Bob publishes his
identity key and one-time keys; Alice fetches them). It verifies every signature so
that garbage and cross-device replays are refused early, but clients verify again:
the signatures, not the server, are what stops a key substitution.

Rules:
* a device publishes its own record only, and its identity keys never change
  (409): a changed key on the same device id is what an attack looks like, so a
  re-keyed device must log in again as a new device;
* a one-time key is handed out at most once, ever (``KeyDirectoryStore.claim_one_time_key``);
  when none are left the device's fallback key is handed out instead (Matrix client-
  server spec, "Fallback keys"), so a device offline for long can still be reached;
* one-time keys cannot be drained (issue 20): an account gets at most
  ``KEY_CLAIM_PER_CLAIMER_MAX`` fresh key of one device a day, and all claimers together
  at most ``KEY_CLAIM_PER_DEVICE_MAX`` an hour; beyond either limit the claim is answered
  with the fallback key, which vodozemac keeps usable for any number of sessions. A
  device named twice in one claim counts once. So a hostile account, or a thousand fresh
  ones, take at most 30 keys an hour; friends still start sessions on the fallback key,
  whose only cost is weaker forward secrecy for the first message until the ratchet turns;
* after a claim the device gets an ``otk_count`` stream event so it can top up.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from tidings.protocol import limits
from tidings.protocol.errors import BadRequest, Conflict, Forbidden
from tidings.protocol.keys import CryptoError, DeviceKeys, OneTimeKey, canonical_json
from tidings.services.accounts import Principal
from tidings.services.clock import Clock
from tidings.services.directory import DirectoryCache
from tidings.services.streams import StreamService
from tidings.storage.accounts import AccountStore
from tidings.storage.database import Database
from tidings.storage.keys import KeyDirectoryStore

OTK_COUNT_KIND = "otk_count"


def _record(obj: DeviceKeys | OneTimeKey) -> str:
    return canonical_json(obj.to_json()).decode()


def _parse_otk(obj: Any) -> OneTimeKey:
    try:
        return OneTimeKey.from_json(obj)
    except CryptoError as exc:
        raise BadRequest(exc.message, "bad_key_format") from exc


class KeyService:
    def __init__(self, db: Database, store: KeyDirectoryStore, accounts: AccountStore,
                 streams: StreamService, clock: Clock, cache: DirectoryCache) -> None:
        self.db = db
        self.store = store
        self.accounts = accounts
        self.streams = streams
        self.clock = clock
        self.cache = cache
        self._since_prune = 0

    async def upload(self, who: Principal, device_keys: Any = None,
                     one_time_keys: Sequence[Any] = (), fallback_key: Any = None) -> int:
        """Store the caller's keys; returns how many unclaimed one-time keys it has."""
        if len(one_time_keys) > limits.KEYS_UPLOAD_OTK_MAX:
            raise BadRequest(f"at most {limits.KEYS_UPLOAD_OTK_MAX} one-time keys per upload",
                             "too_many_keys")
        record = self._check_device_keys(who, device_keys) if device_keys is not None else None
        otks = [_parse_otk(k) for k in one_time_keys]
        fallback = _parse_otk(fallback_key) if fallback_key is not None else None
        now = self.clock()
        async with self.db.write() as conn:
            stored = await self.store.device_keys(conn, who.device_id)
            if record is not None:
                if stored is not None and json.loads(stored) != record.to_json():
                    raise Conflict("this device already published different identity keys; "
                                   "log in as a new device to use new keys",
                                   "identity_key_change")
                if stored is None:
                    await self.store.put_device_keys(conn, who.device_id, who.user_id,
                                                     record.curve25519, record.ed25519,
                                                     _record(record), now)
                    stored = _record(record)
            if stored is None and (otks or fallback):
                raise Conflict("upload the device keys before one-time keys",
                               "no_device_keys")
            if stored is not None:
                ed25519 = str(json.loads(stored)["ed25519"])
                for otk in otks:
                    self._check_otk(who, otk, ed25519, fallback=False)
                if fallback is not None:
                    self._check_otk(who, fallback, ed25519, fallback=True)
            seen = await self.store.one_time_key_ids(conn, who.device_id,
                                                     [k.key_id for k in otks])
            new = [(k.key_id, _record(k)) for k in otks if k.key_id not in seen]
            if len({kid for kid, _ in new}) != len(new):
                raise BadRequest("duplicate one-time key ids", "duplicate_key_id")
            count = await self.store.count_one_time_keys(conn, who.device_id)
            if count + len(new) > limits.KEYS_STORED_OTK_MAX:
                raise Conflict(f"a device holds at most {limits.KEYS_STORED_OTK_MAX} unclaimed "
                               "one-time keys", "too_many_keys")
            await self.store.add_one_time_keys(conn, who.device_id, new, now)
            if fallback is not None:
                await self.store.put_fallback(conn, who.device_id, fallback.key_id,
                                              _record(fallback), now)
        if record is not None:
            self.cache.invalidate(who.user_id)
        return count + len(new)

    @staticmethod
    def _check_device_keys(who: Principal, obj: Any) -> DeviceKeys:
        try:
            record = DeviceKeys.from_json(obj)
        except CryptoError as exc:
            raise BadRequest(exc.message, "bad_key_format") from exc
        if record.user != who.username or record.device_id != who.device_id:
            raise Forbidden("a device publishes only its own keys (user and device_id must "
                            "be the caller's)", "not_your_device")
        if not record.verify():
            raise BadRequest("the device keys' signature does not verify", "bad_signature")
        return record

    @staticmethod
    def _check_otk(who: Principal, otk: OneTimeKey, ed25519: str, *, fallback: bool) -> None:
        if otk.fallback != fallback:
            raise BadRequest("one-time keys must have fallback false, the fallback key true",
                             "bad_key_format")
        if not otk.verify(who.username, who.device_id, ed25519):
            raise BadRequest(f"key {otk.key_id} has a bad signature", "bad_signature")

    async def count(self, who: Principal) -> int:
        async with self.db.read() as conn:
            return await self.store.count_one_time_keys(conn, who.device_id)

    async def query(self, usernames: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Signed device records of these users; unknown users map to no devices."""
        names = _names(usernames, limits.KEYS_QUERY_USERS_MAX, "users")
        async with self.db.read() as conn:
            users = await self.accounts.users_by_names(conn, names)
            live = {u.id: u.username for u in users.values() if u.deleted_at is None}
            rows = await self.store.records_of_users(conn, list(live))
        out: dict[str, dict[str, Any]] = {name: {} for name in names}
        for user_id, device_id, record in rows:
            out[live[user_id]][device_id] = json.loads(record)
        return out

    async def claim(self, who: Principal, wanted: Mapping[str, Sequence[str]]
                    ) -> dict[str, dict[str, Any]]:
        """One key per named device (all keyed devices for an empty list), atomically."""
        names = _names(list(wanted), limits.KEYS_CLAIM_DEVICES_MAX, "users")
        wanted = {name: [d for key, ds in wanted.items() if key.strip().lower() == name
                         for d in ds] for name in names}
        if sum(max(1, len(v)) for v in wanted.values()) > limits.KEYS_CLAIM_DEVICES_MAX:
            raise BadRequest(f"at most {limits.KEYS_CLAIM_DEVICES_MAX} devices per claim",
                             "too_many_devices")
        out: dict[str, dict[str, Any]] = {name: {} for name in names}
        counts: list[tuple[str, int]] = []
        now = self.clock()
        async with self.db.write() as conn:
            users = await self.accounts.users_by_names(conn, names)
            live = {u.id: u.username for u in users.values() if u.deleted_at is None}
            keyed = await self.store.curve_keys(conn, list(live))
            for name in names:
                user = users.get(name)
                if user is None or user.id not in live:
                    continue
                own = sorted(d for d, (uid, _) in keyed.items() if uid == user.id)
                requested = list(dict.fromkeys(str(d) for d in wanted[name])) or own
                for device_id in requested:
                    if device_id not in own:
                        continue
                    record = None
                    if await self._may_take_fresh(conn, who, device_id, now):
                        record = await self.store.claim_one_time_key(conn, device_id)
                    if record is None:
                        record = await self.store.fallback(conn, device_id)
                    else:
                        await self.store.log_claim(conn, who.user_id, device_id, now)
                        counts.append((device_id,
                                       await self.store.count_one_time_keys(conn, device_id)))
                    if record is not None:
                        out[name][device_id] = json.loads(record)
            self._since_prune += 1
            if self._since_prune >= limits.KEY_CLAIMS_PRUNE_EVERY:
                self._since_prune = 0
                await self.store.prune_claims(conn, now - max(
                    limits.KEY_CLAIM_PER_CLAIMER_WINDOW_MS, limits.KEY_CLAIM_PER_DEVICE_WINDOW_MS))
        if counts:
            await self.streams.append([(d, OTK_COUNT_KIND, {"count": n}) for d, n in counts])
        return out

    async def _may_take_fresh(self, conn: Any, who: Principal, device_id: str, now: int
                              ) -> bool:
        """Within both claim limits? (Otherwise the claimer gets the fallback key.)"""
        await self.store.lock_device(conn, device_id)
        mine = await self.store.fresh_claims(
            conn, device_id, now - limits.KEY_CLAIM_PER_CLAIMER_WINDOW_MS, who.user_id)
        if mine >= limits.KEY_CLAIM_PER_CLAIMER_MAX:
            return False
        everyone = await self.store.fresh_claims(
            conn, device_id, now - limits.KEY_CLAIM_PER_DEVICE_WINDOW_MS)
        return everyone < limits.KEY_CLAIM_PER_DEVICE_MAX


def _names(values: Sequence[Any], most: int, what: str) -> list[str]:
    if len(values) > most:
        raise BadRequest(f"at most {most} {what} per request", f"too_many_{what}")
    names: list[str] = []
    for value in values:
        if not isinstance(value, str) or len(value) > limits.USERNAME_MAX * 4:
            raise BadRequest("usernames must be strings", "invalid_username")
        name = value.strip().lower()
        if name not in names:
            names.append(name)
    return names

"""Accounts, devices and access tokens.

A token is 256 random bits shown once to the device that logged in. The server keeps
only HMAC-SHA256(pepper, token): a stolen database does not let anyone log in, and the
pepper lives in a 0600 file outside the database.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.bus.base import Bus
from tidings.protocol import limits
from tidings.protocol.control import EndReason, SessionEnded
from tidings.protocol.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from tidings.protocol.handles import HandleError, check_not_reserved, normalize_username
from tidings.protocol.names import check_decorations, conflict_message, name_key
from tidings.services.clock import Clock
from tidings.services.live import end_sessions
from tidings.storage.accounts import AccountStore
from tidings.storage.database import Database
from tidings.storage.records import ROLES, STAFF_ROLES, DeviceRecord, UserRecord

TOKEN_PREFIX = "tdg_"  # noqa: S105 - a marker, not a secret
DEVICE_ID_BYTES = 8
LAST_SEEN_GRANULARITY_MS = 60_000
"""last_seen is written at most once a minute per device, not on every request."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the authenticated user and the device they use."""

    user_id: int
    username: str
    role: str
    device_id: str

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True, slots=True)
class Session:
    principal: Principal
    device: DeviceRecord
    token: str


@cache
def common_passwords() -> frozenset[str]:
    text = (resources.files("tidings.services") / "data" / "common_passwords.txt").read_text()
    return frozenset(line.strip() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


def named_user(name: str) -> str:
    """A username naming an existing account (a peer, a member), normalised and checked
    whole against the rule the routes publish (400 ``invalid_username``): a name the
    rule refuses is never cut or stripped into another account's (issue 23)."""
    try:
        return normalize_username(name)
    except HandleError as exc:
        raise BadRequest(exc.message, exc.code) from exc


def check_username(name: str, extra_reserved: frozenset[str], *,
                   allow_reserved: bool = False) -> str:
    """Normalise and vet a new username: the rule, reserved names and their lookalikes.

    Operators may create reserved names (``admin``) on the server host.
    """
    if not isinstance(name, str):
        raise BadRequest("username must be a string", "invalid_username")
    try:
        username = normalize_username(name)
        if not allow_reserved:
            check_not_reserved(username, "username")
            check_decorations(username, "username")
    except HandleError as exc:
        raise (Conflict if exc.code.startswith("reserved") else BadRequest)(
            exc.message, exc.code) from exc
    if username in extra_reserved:
        raise Conflict(f"the username {username!r} is reserved", "reserved_username")
    return username


def check_password(password: str, username: str) -> None:
    if not isinstance(password, str):
        raise BadRequest("password must be a string", "invalid_password")
    if len(password) < limits.PASSWORD_MIN:
        raise BadRequest(f"a password needs at least {limits.PASSWORD_MIN} characters",
                         "weak_password")
    if len(password) > limits.PASSWORD_MAX:
        raise BadRequest(f"a password has at most {limits.PASSWORD_MAX} characters",
                         "invalid_password")
    folded = password.lower()
    if folded in common_passwords() or username in folded:
        raise BadRequest("this password is too common or contains the username; "
                         "choose another", "weak_password")


def new_token() -> str:
    raw = secrets.token_bytes(limits.TOKEN_BYTES)
    return TOKEN_PREFIX + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def new_device_id() -> str:
    return "D" + base64.b32encode(secrets.token_bytes(DEVICE_ID_BYTES)).decode().rstrip("=")


DEFAULT_PASSWORD_COST = (65536, 3)
"""argon2id (memory KiB, passes): RFC 9106's low-memory profile (with 4 lanes)."""


class AccountService:
    def __init__(self, db: Database, store: AccountStore, pepper: bytes, clock: Clock,
                 reserved: frozenset[str], bus: Bus | None = None,
                 password_cost: tuple[int, int] = DEFAULT_PASSWORD_COST) -> None:
        """``password_cost`` is argon2id's (memory KiB, passes) for account passwords."""
        self.db = db
        self.bus = bus
        """Where ended sessions are announced at once; without one (the CLI) the servers
        find them in the session log within a second (storage/sessions.py)."""
        self.store = store
        self._pepper = pepper
        self.clock = clock
        self.reserved = reserved
        self._hasher = password_hasher(*password_cost)

    def hash_token(self, token: str) -> str:
        return hmac.new(self._pepper, token.encode(), hashlib.sha256).hexdigest()

    async def _hash_password(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def _verify_password(self, stored: str | None, password: str) -> bool:
        if stored is None:
            return False
        try:
            return await asyncio.to_thread(self._hasher.verify, stored, password)
        except (VerificationError, InvalidHashError):
            return False

    async def _upgrade_hash(self, user: UserRecord, password: str) -> None:
        """Re-hash at login when the operator changed the cost (argon2's own check)."""
        if user.password_hash is None or not self._hasher.check_needs_rehash(user.password_hash):
            return
        hashed = await self._hash_password(password)
        async with self.db.write() as conn:
            await self.store.set_password(conn, user.id, hashed)

    async def create_user(self, username: str, password: str | None, role: str = "user",
                          *, check_reserved: bool = True) -> UserRecord:
        """Create an account without a device (operators' `admin create-user`)."""
        name = check_username(username, self.reserved if check_reserved else frozenset(),
                              allow_reserved=not check_reserved)
        if role not in ROLES:
            raise BadRequest(f"role must be one of {', '.join(ROLES)}", "invalid_role")
        hashed = None
        if password is not None:
            check_password(password, name)
            hashed = await self._hash_password(password)
        async with self.db.write() as conn:
            if check_reserved:
                await self._check_confusable(conn, name)
            return await self.store.create_user(conn, name, hashed, role, self.clock())

    async def _check_confusable(self, conn: AsyncConnection, username: str) -> None:
        """A new username may not look like another account's or a channel's name
        (protocol/names.py); the refusal names the kind of conflict, not the other name."""
        kind = await self.store.name_conflict(conn, name_key(username), username)
        if kind is not None:
            raise Conflict(conflict_message("username", kind), "username_confusable")

    async def register(self, username: str, password: str, device_name: str) -> Session:
        name = check_username(username, self.reserved)
        check_password(password, name)
        device_name = _device_name(device_name)
        hashed = await self._hash_password(password)
        token = new_token()
        async with self.db.write() as conn:
            now = self.clock()
            await self._check_confusable(conn, name)
            user = await self.store.create_user(conn, name, hashed, "user", now)
            device = await self.store.create_device(conn, user.id, new_device_id(),
                                                    device_name, self.hash_token(token), now)
        return Session(Principal(user.id, user.username, user.role, device.id), device, token)

    async def check_credentials(self, username: str, password: str) -> UserRecord:
        """The account these credentials open, or Unauthorized / Forbidden (suspended).

        The console logs in through this alone (no device, no token:
        services/console_sessions.py); the API's login makes a device after it."""
        name = username.strip().lower() if isinstance(username, str) else ""
        async with self.db.read() as conn:
            user = await self.store.user_by_name(conn, name)
        # Verify even for unknown users so timing does not reveal which names exist.
        stored = user.password_hash if user else _dummy_hash(self._hasher)
        ok = await self._verify_password(stored, password if isinstance(password, str) else "")
        if user is None or not ok or user.deleted_at is not None:
            raise Unauthorized("wrong username or password", "bad_credentials")
        if user.suspended_at is not None:
            raise Forbidden("this account is suspended", "account_suspended")
        await self._upgrade_hash(user, password)
        return user

    async def login(self, username: str, password: str, device_name: str) -> Session:
        device_name = _device_name(device_name)
        user = await self.check_credentials(username, password)
        token = new_token()
        async with self.db.write() as conn:
            if await self.store.count_devices(conn, user.id) >= limits.DEVICES_PER_ACCOUNT_MAX:
                raise Conflict(f"an account has at most {limits.DEVICES_PER_ACCOUNT_MAX} "
                               "devices; log one out first", "too_many_devices")
            device = await self.store.create_device(conn, user.id, new_device_id(),
                                                    device_name, self.hash_token(token),
                                                    self.clock())
        return Session(Principal(user.id, user.username, user.role, device.id), device, token)

    async def authenticate(self, token: str, *, allow_suspended: bool = False) -> Principal:
        """The caller; a suspended account passes only where ``allow_suspended`` (its
        system inbox and appeals: DSA Art. 20(1) lets it complain about the suspension)."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
            raise Unauthorized("invalid access token", "invalid_token")
        found = await self.db.read_plan(self.store.device_by_token_plan(self.hash_token(token),
                                                                         self.db.dialect))
        if found is None:
            raise Unauthorized("invalid or revoked access token", "invalid_token")
        device, user = found
        if user.deleted_at is not None:
            raise Unauthorized("this account was deleted", "invalid_token")
        if user.suspended_at is not None and not allow_suspended:
            raise Forbidden("this account is suspended", "account_suspended")
        now = self.clock()
        if now - device.last_seen_at > LAST_SEEN_GRANULARITY_MS:
            async with self.db.write() as conn:
                await self.store.touch_device(conn, device.id, now)
        return Principal(user.id, user.username, user.role, device.id)

    async def devices(self, who: Principal) -> list[DeviceRecord]:
        async with self.db.read() as conn:
            return await self.store.devices_of(conn, who.user_id)

    async def revoke_device(self, who: Principal, device_id: str,
                            reason: EndReason = EndReason.DEVICE_REMOVED) -> None:
        """Log a device out; its live sockets close. Only one's own devices: another's id
        is simply not found."""
        now = self.clock()
        async with self.db.write() as conn:
            if not await self.store.delete_device(conn, who.user_id, device_id, reason, now):
                raise NotFound("no such device", "device_not_found")
        await self._ended([SessionEnded(who.user_id, device_id, reason, now)])

    async def _ended(self, ended: list[SessionEnded]) -> None:
        if self.bus is not None:
            await end_sessions(self.bus, ended)

    async def delete_account(self, who: Principal, password: str) -> None:
        async with self.db.read() as conn:
            user = await self.store.user_by_id(conn, who.user_id)
        if user is None or not await self._verify_password(user.password_hash, password):
            raise Forbidden("the password is wrong", "bad_credentials")
        now = self.clock()
        async with self.db.write() as conn:
            await self.store.mark_deleted(conn, who.user_id, now)
        await self._ended([SessionEnded(who.user_id, None, EndReason.ACCOUNT_DELETED, now)])

    async def user(self, username: str) -> UserRecord:
        async with self.db.read() as conn:
            user = await self.store.user_by_name(conn, username.strip().lower())
        if user is None or user.deleted_at is not None:
            raise NotFound("no such user", "user_not_found")
        return user

    async def set_password(self, username: str, password: str) -> UserRecord:
        """Operator reset: new password, and every device of the account logs out."""
        user = await self.user(username)
        check_password(password, user.username)
        hashed = await self._hash_password(password)
        now = self.clock()
        async with self.db.write() as conn:
            await self.store.set_password(conn, user.id, hashed)
            for device in await self.store.devices_of(conn, user.id):
                await self.store.delete_device(conn, user.id, device.id,
                                               EndReason.PASSWORD_RESET, now)
        await self._ended([SessionEnded(user.id, None, EndReason.PASSWORD_RESET, now)])
        return user

    async def ensure_admin(self) -> tuple[str, str] | None:
        """Create an admin with a random password if none exists; returns (name, password)."""
        async with self.db.read() as conn:
            if await self.store.count_role(conn, "admin") > 0:
                return None
            taken = await self.store.user_by_name(conn, "admin")
        name = "admin" if taken is None else f"admin_{secrets.token_hex(3)}"
        password = secrets.token_urlsafe(18)
        await self.create_user(name, password, "admin", check_reserved=False)
        return name, password


def _device_name(name: str) -> str:
    if not isinstance(name, str):
        raise BadRequest("device name must be a string", "invalid_device_name")
    name = name.strip() or "device"
    if len(name) > limits.DEVICE_NAME_MAX or any(ord(c) < 32 for c in name):
        raise BadRequest(f"a device name is at most {limits.DEVICE_NAME_MAX} printable "
                         "characters", "invalid_device_name")
    return name


@cache
def password_hasher(memory_kib: int, time_cost: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash with the live parameters, verified for unknown names (equal timing)."""
    return hasher.hash("tidings-timing-equaliser")

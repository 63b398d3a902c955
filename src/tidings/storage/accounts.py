"""Users and devices. Every method runs inside a transaction the caller owns."""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.protocol.control import EndReason
from tidings.protocol.errors import Conflict
from tidings.protocol.names import name_key
from tidings.storage.channel_schema import channels
from tidings.storage.console_sessions import end_console_sessions
from tidings.storage.plan import Plan, Raw
from tidings.storage.records import DeviceRecord, UserRecord
from tidings.storage.schema import devices, users
from tidings.storage.sessions import record_end

_USER_COLS = (users.c.id, users.c.username, users.c.role, users.c.display_name,
              users.c.created_at, users.c.deleted_at, users.c.suspended_at,
              users.c.password_hash)
_DEVICE_COLS = (devices.c.id, devices.c.user_id, devices.c.name, devices.c.created_at,
                devices.c.last_seen_at)


def _user(row: Any) -> UserRecord:
    return UserRecord(*row)


def _device(row: Any) -> DeviceRecord:
    return DeviceRecord(*row)


class AccountStore:
    async def create_user(self, conn: AsyncConnection, username: str, password_hash: str | None,
                          role: str, now: int) -> UserRecord:
        try:
            async with conn.begin_nested():
                result = await conn.execute(
                    users.insert().values(username=username, password_hash=password_hash,
                                          role=role, created_at=now,
                                          name_key=name_key(username))
                    .returning(*_USER_COLS))
                return _user(result.one())
        except IntegrityError as exc:
            raise Conflict(f"the username {username!r} is taken", "username_taken") from exc

    async def user_by_name(self, conn: AsyncConnection, username: str) -> UserRecord | None:
        row = (await conn.execute(sa.select(*_USER_COLS).where(users.c.username == username))
               ).first()
        return _user(row) if row else None

    def user_by_name_plan(self, username: str) -> Plan[UserRecord | None]:
        """:meth:`user_by_name` as a plan (``storage/plan.py``), for ``Database.read_plan``."""
        row = (yield sa.select(*_USER_COLS).where(users.c.username == username)).first()
        return _user(row) if row else None

    async def user_by_id(self, conn: AsyncConnection, user_id: int) -> UserRecord | None:
        row = (await conn.execute(sa.select(*_USER_COLS).where(users.c.id == user_id))).first()
        return _user(row) if row else None

    async def users_by_names(self, conn: AsyncConnection,
                             names: list[str]) -> dict[str, UserRecord]:
        rows = await conn.execute(sa.select(*_USER_COLS).where(users.c.username.in_(names)))
        return {r.username: _user(r) for r in rows}

    async def name_conflict(self, conn: AsyncConnection, key: str, username: str = "",
                            exclude_id: int | None = None, *, channels_too: bool = True
                            ) -> Literal["account", "channel"] | None:
        """Which kind of existing name has this lookalike key: another account's
        username (``username`` itself excepted: taking an exact name is
        ``username_taken``; and ``exclude_id``'s, a channel owner's own), a live
        channel's handle or title (unless not ``channels_too``), or None."""
        query = sa.select(users.c.id).where(users.c.name_key == key,
                                            users.c.username != username)
        if exclude_id is not None:
            query = query.where(users.c.id != exclude_id)
        if (await conn.execute(query.limit(1))).first() is not None:
            return "account"
        if not channels_too:
            return None
        found = await conn.execute(sa.select(channels.c.id).where(
            sa.or_(channels.c.handle_key == key, channels.c.title_key == key)).limit(1))
        return "channel" if found.first() is not None else None

    async def count_role(self, conn: AsyncConnection, role: str) -> int:
        result = await conn.execute(
            sa.select(sa.func.count()).select_from(users)
            .where(users.c.role == role, users.c.deleted_at.is_(None)))
        return int(result.scalar_one())

    async def set_password(self, conn: AsyncConnection, user_id: int, password_hash: str) -> None:
        await conn.execute(users.update().where(users.c.id == user_id)
                           .values(password_hash=password_hash))
        await end_console_sessions(conn, user_id)

    async def set_suspended(self, conn: AsyncConnection, user_id: int,
                            suspended_at: int | None) -> None:
        """Suspending also logs the end of the account's sessions (storage/sessions.py),
        so its live sockets close on every process; lifting it (None) logs nothing."""
        await conn.execute(users.update().where(users.c.id == user_id)
                           .values(suspended_at=suspended_at))
        if suspended_at is not None:
            await record_end(conn, user_id, None, EndReason.SUSPENDED, suspended_at)
            await end_console_sessions(conn, user_id)

    async def set_role(self, conn: AsyncConnection, user_id: int, role: str) -> None:
        await conn.execute(users.update().where(users.c.id == user_id).values(role=role))
        await end_console_sessions(conn, user_id)  # a console login is for the old role

    async def mark_deleted(self, conn: AsyncConnection, user_id: int, now: int) -> None:
        """Deleted accounts keep their row (the name stays taken) but lose every secret."""
        await conn.execute(devices.delete().where(devices.c.user_id == user_id))
        await end_console_sessions(conn, user_id)
        await conn.execute(users.update().where(users.c.id == user_id)
                           .values(deleted_at=now, password_hash=None, display_name=None))
        await record_end(conn, user_id, None, EndReason.ACCOUNT_DELETED, now)

    async def create_device(self, conn: AsyncConnection, user_id: int, device_id: str,
                            name: str, token_hash: str, now: int) -> DeviceRecord:
        await conn.execute(devices.insert().values(
            id=device_id, user_id=user_id, name=name, token_hash=token_hash,
            created_at=now, last_seen_at=now))
        return DeviceRecord(device_id, user_id, name, now, now)

    async def device_by_token(self, conn: AsyncConnection,
                              token_hash: str) -> tuple[DeviceRecord, UserRecord] | None:
        return _by_token((await conn.execute(_token_select(token_hash))).first())

    def device_by_token_plan(self, token_hash: str, dialect: str = ""
                             ) -> Plan[tuple[DeviceRecord, UserRecord] | None]:
        """``device_by_token`` as a plan (``Database.read_plan``: one thread hop); on
        SQLite as prepared text (every authenticated request runs it)."""
        if dialect == "sqlite":
            rows = yield Raw(_LITE_BY_TOKEN, (token_hash,))
            return _by_token(rows[0] if rows else None)
        return _by_token((yield _token_select(token_hash)).first())


    async def devices_of(self, conn: AsyncConnection, user_id: int) -> list[DeviceRecord]:
        rows = await conn.execute(sa.select(*_DEVICE_COLS).where(devices.c.user_id == user_id)
                                  .order_by(devices.c.created_at, devices.c.id))
        return [_device(r) for r in rows]

    async def device(self, conn: AsyncConnection, device_id: str) -> DeviceRecord | None:
        row = (await conn.execute(sa.select(*_DEVICE_COLS).where(devices.c.id == device_id))
               ).first()
        return _device(row) if row else None

    async def count_devices(self, conn: AsyncConnection, user_id: int) -> int:
        result = await conn.execute(sa.select(sa.func.count()).select_from(devices)
                                    .where(devices.c.user_id == user_id))
        return int(result.scalar_one())

    async def delete_device(self, conn: AsyncConnection, user_id: int, device_id: str,
                            reason: EndReason = EndReason.DEVICE_REMOVED,
                            now: int | None = None) -> bool:
        """Removing a device revokes its token and logs the end of its sessions."""
        result = await conn.execute(devices.delete().where(
            devices.c.id == device_id, devices.c.user_id == user_id))
        if not result.rowcount:
            return False
        await record_end(conn, user_id, device_id, reason, now)
        return True

    async def touch_device(self, conn: AsyncConnection, device_id: str, now: int) -> None:
        await conn.execute(devices.update().where(devices.c.id == device_id)
                           .values(last_seen_at=now))


_LITE_BY_TOKEN = (  # _token_select as SQLite text (storage/plan.py, Raw)
    f"SELECT {', '.join(f'{c.table.name}.{c.name}' for c in (*_DEVICE_COLS, *_USER_COLS))} "  # noqa: S608
    "FROM devices JOIN users ON users.id = devices.user_id WHERE devices.token_hash = ?")


def _token_select(token_hash: str) -> sa.Select[Any]:
    return (sa.select(*_DEVICE_COLS, *_USER_COLS)
            .select_from(devices.join(users, users.c.id == devices.c.user_id))
            .where(devices.c.token_hash == token_hash))


def _by_token(row: Any) -> tuple[DeviceRecord, UserRecord] | None:
    if row is None:
        return None
    values = tuple(row)
    n = len(_DEVICE_COLS)
    return _device(values[:n]), _user(values[n:])

"""Private group membership and the once-stored group message ciphertexts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.storage.group_schema import group_members, group_messages, groups
from tidings.storage.schema import devices, stream_events, users

GROUP_MESSAGE_KIND = "group_message"


@dataclass(frozen=True, slots=True)
class GroupRecord:
    id: str
    title: str
    timer_ms: int | None


@dataclass(frozen=True, slots=True)
class Member:
    user_id: int
    username: str
    admin: bool


class GroupStore:
    async def create(self, conn: AsyncConnection, group_id: str, title: str, creator: int,
                     now: int, members: dict[int, bool]) -> None:
        await conn.execute(groups.insert().values(id=group_id, title=title, created_by=creator,
                                                  created_at=now))
        await self.add_members(conn, group_id, members, now)

    async def get(self, conn: AsyncConnection, group_id: str) -> GroupRecord | None:
        row = (await conn.execute(sa.select(groups.c.id, groups.c.title, groups.c.timer_ms)
                                  .where(groups.c.id == group_id))).first()
        return GroupRecord(str(row[0]), str(row[1]), row[2]) if row else None

    async def members(self, conn: AsyncConnection, group_id: str) -> list[Member]:
        rows = await conn.execute(
            sa.select(group_members.c.user_id, users.c.username, group_members.c.admin)
            .join(users, users.c.id == group_members.c.user_id)
            .where(group_members.c.group_id == group_id).order_by(users.c.username))
        return [Member(int(r[0]), str(r[1]), bool(r[2])) for r in rows]

    async def add_members(self, conn: AsyncConnection, group_id: str, members: dict[int, bool],
                          now: int) -> None:
        if members:
            await conn.execute(group_members.insert(), [
                {"group_id": group_id, "user_id": uid, "admin": admin, "joined_at": now}
                for uid, admin in members.items()])

    async def remove_member(self, conn: AsyncConnection, group_id: str, user_id: int) -> bool:
        result = await conn.execute(group_members.delete().where(
            group_members.c.group_id == group_id, group_members.c.user_id == user_id))
        return bool(result.rowcount)

    async def set_admin(self, conn: AsyncConnection, group_id: str, user_id: int,
                        admin: bool) -> None:
        await conn.execute(group_members.update().where(
            group_members.c.group_id == group_id, group_members.c.user_id == user_id)
            .values(admin=admin))

    async def delete(self, conn: AsyncConnection, group_id: str) -> None:
        await conn.execute(group_messages.delete().where(group_messages.c.group_id == group_id))
        await conn.execute(group_members.delete().where(group_members.c.group_id == group_id))
        await conn.execute(groups.delete().where(groups.c.id == group_id))

    async def update(self, conn: AsyncConnection, group_id: str, *, title: str | None = None,
                     timer_ms: int | None = None, clear_timer: bool = False) -> None:
        values: dict[str, object] = {}
        if title is not None:
            values["title"] = title
        if timer_ms is not None or clear_timer:
            values["timer_ms"] = timer_ms
        if values:
            await conn.execute(groups.update().where(groups.c.id == group_id).values(**values))

    async def count_groups_of(self, conn: AsyncConnection, user_ids: Iterable[int]
                              ) -> dict[int, int]:
        ids = list(user_ids)
        rows = await conn.execute(
            sa.select(group_members.c.user_id, sa.func.count())
            .where(group_members.c.user_id.in_(ids)).group_by(group_members.c.user_id))
        return {int(r[0]): int(r[1]) for r in rows}

    async def groups_of(self, conn: AsyncConnection, user_id: int) -> list[GroupRecord]:
        rows = await conn.execute(
            sa.select(groups.c.id, groups.c.title, groups.c.timer_ms)
            .join(group_members, group_members.c.group_id == groups.c.id)
            .where(group_members.c.user_id == user_id).order_by(groups.c.created_at))
        return [GroupRecord(str(r[0]), str(r[1]), r[2]) for r in rows]

    async def devices_of_users(self, conn: AsyncConnection, user_ids: Sequence[int]
                               ) -> list[str]:
        """Every device of these users: a group message goes to each of them."""
        if not user_ids:
            return []
        rows = await conn.execute(sa.select(devices.c.id).where(devices.c.user_id.in_(user_ids))
                                  .order_by(devices.c.id))
        return [str(r[0]) for r in rows]

    async def ciphertexts(self, conn: AsyncConnection, ids: Sequence[str]) -> dict[str, str]:
        if not ids:
            return {}
        rows = await conn.execute(sa.select(group_messages.c.id, group_messages.c.ciphertext)
                                  .where(group_messages.c.id.in_(set(ids))))
        return {str(r[0]): str(r[1]) for r in rows}

    async def prune(self, conn: AsyncConnection, now: int) -> int:
        """Delete ciphertexts past their expiry, and those no stream event refers to.

        A group message's stream bodies start with ``{"id":"<message id>"`` (see
        services/groups.py), so "still referenced" is a prefix match; once every member
        device has acknowledged, nothing matches and the ciphertext goes.
        """
        expired = await conn.execute(group_messages.delete().where(
            group_messages.c.expires_at.is_not(None), group_messages.c.expires_at <= now))
        prefix = sa.literal('{"id":"') + group_messages.c.id + sa.literal('"%')
        referenced = sa.exists().where(stream_events.c.kind == GROUP_MESSAGE_KIND,
                                       stream_events.c.body.like(prefix))
        orphans = await conn.execute(group_messages.delete().where(~referenced))
        return int(expired.rowcount or 0) + int(orphans.rowcount or 0)

"""Group invitations (privacy_schema.group_invitations): being added is asking."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.storage.privacy_schema import group_invitations as gi
from tidings.storage.schema import users

PENDING = "pending"
DECLINED = "declined"
HIDDEN = "hidden"
"""Kept so the inviter sees it as pending; never shown to the invitee (blocked inviter,
or too many pending invitations)."""


@dataclass(frozen=True, slots=True)
class Invitation:
    group_id: str
    user_id: int
    inviter: str
    admin: bool
    state: str
    created_at: int
    expires_at: int


class InvitationStore:
    async def prune(self, conn: AsyncConnection, now: int) -> None:
        await conn.execute(gi.delete().where(gi.c.expires_at <= now))

    async def remove_all_of(self, conn: AsyncConnection, user_id: int) -> None:
        """Every invitation to this user, any state (the account is deleted)."""
        await conn.execute(gi.delete().where(gi.c.user_id == user_id))

    async def invited(self, conn: AsyncConnection, group_id: str, now: int) -> dict[int, str]:
        """``user_id -> username`` of every unexpired invitation to the group, any state."""
        rows = await conn.execute(
            sa.select(gi.c.user_id, users.c.username).join(users, users.c.id == gi.c.user_id)
            .where(gi.c.group_id == group_id, gi.c.expires_at > now))
        return {int(r[0]): str(r[1]) for r in rows}

    async def count_by_inviter(self, conn: AsyncConnection, inviter: int, now: int) -> int:
        result = await conn.execute(sa.select(sa.func.count()).select_from(gi).where(
            gi.c.inviter_id == inviter, gi.c.expires_at > now))
        return int(result.scalar_one())

    async def pending_counts(self, conn: AsyncConnection, user_ids: Sequence[int], now: int
                             ) -> dict[int, int]:
        if not user_ids:
            return {}
        rows = await conn.execute(
            sa.select(gi.c.user_id, sa.func.count())
            .where(gi.c.user_id.in_(list(user_ids)), gi.c.state == PENDING,
                   gi.c.expires_at > now).group_by(gi.c.user_id))
        return {int(r[0]): int(r[1]) for r in rows}

    async def add(self, conn: AsyncConnection, group_id: str, user_id: int, inviter: int,
                  admin: bool, state: str, now: int, expires_at: int) -> None:
        await conn.execute(gi.insert().values(
            group_id=group_id, user_id=user_id, inviter_id=inviter, admin=admin, state=state,
            created_at=now, expires_at=expires_at))

    async def get(self, conn: AsyncConnection, group_id: str, user_id: int, now: int
                  ) -> Invitation | None:
        inviter = users.alias("inviter")
        row = (await conn.execute(
            sa.select(gi.c.group_id, gi.c.user_id, inviter.c.username, gi.c.admin, gi.c.state,
                      gi.c.created_at, gi.c.expires_at)
            .join(inviter, inviter.c.id == gi.c.inviter_id)
            .where(gi.c.group_id == group_id, gi.c.user_id == user_id,
                   gi.c.expires_at > now))).first()
        return Invitation(str(row[0]), int(row[1]), str(row[2]), bool(row[3]), str(row[4]),
                          int(row[5]), int(row[6])) if row else None

    async def of_user(self, conn: AsyncConnection, user_id: int, now: int, limit: int
                      ) -> list[Invitation]:
        inviter = users.alias("inviter")
        rows = await conn.execute(
            sa.select(gi.c.group_id, gi.c.user_id, inviter.c.username, gi.c.admin, gi.c.state,
                      gi.c.created_at, gi.c.expires_at)
            .join(inviter, inviter.c.id == gi.c.inviter_id)
            .where(gi.c.user_id == user_id, gi.c.state == PENDING, gi.c.expires_at > now,
                   inviter.c.deleted_at.is_(None))
            .order_by(gi.c.created_at).limit(limit))
        return [Invitation(str(r[0]), int(r[1]), str(r[2]), bool(r[3]), str(r[4]), int(r[5]),
                           int(r[6])) for r in rows]

    async def set_state(self, conn: AsyncConnection, group_id: str, user_id: int,
                        state: str) -> None:
        await conn.execute(gi.update().where(gi.c.group_id == group_id, gi.c.user_id == user_id)
                           .values(state=state))

    async def remove(self, conn: AsyncConnection, group_id: str, user_id: int) -> bool:
        result = await conn.execute(gi.delete().where(gi.c.group_id == group_id,
                                                      gi.c.user_id == user_id))
        return bool(result.rowcount)

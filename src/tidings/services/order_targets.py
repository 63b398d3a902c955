"""Find what a removal order names, and disable it (TCO Art. 3(3)).

A post is removed through ``TakedownService.remove_post`` (hidden from the API, the
web view and search, subscribers told, its signals auto-banked); a channel is banned
(its page and API answer 410 and it leaves search); an account is suspended (its
tokens stop working). Each step records a moderation action and an audit-log entry
whose rule names the order, and returns a snapshot of what was there so a reversal
on appeal can put it back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.moderation import labels as L
from tidings.moderation.actions import ActionKind, idempotency_key
from tidings.moderation.audit import AuditRecord
from tidings.moderation.orders import TargetKind, TargetSpec, id_of
from tidings.moderation.reasons import ContentKind
from tidings.moderation.review import Decision
from tidings.protocol.control import EndReason, SessionEnded
from tidings.protocol.errors import NotFound, Unprocessable
from tidings.protocol.handles import HANDLE_MAX
from tidings.services.actions import BAN_NOTICE_BY_LABEL, DEFAULT_BAN_NOTICE, ActionService
from tidings.services.clock import Clock
from tidings.services.live import end_sessions
from tidings.services.takedowns import TakedownService
from tidings.storage.accounts import AccountStore
from tidings.storage.channels import ChannelRecord, ChannelStore, PostRecord
from tidings.storage.database import Database
from tidings.storage.orders import OrderRow

ORDER_ACTION: Final = "removal_order"
DECISION_OF_KIND: Final = {
    TargetKind.POST: Decision.REMOVE,
    TargetKind.CHANNEL: Decision.BAN_CHANNEL,
    TargetKind.ACCOUNT: Decision.SUSPEND_ACCOUNT,
}


@dataclass(frozen=True, slots=True)
class Target:
    kind: TargetKind
    ref: str
    """The id as the API names it: post id, channel id, user id."""
    affected_user_id: int | None
    """The content provider (TCO Art. 2(4)): the post's author, the channel's owner."""
    created_ms: int
    content_kinds: tuple[ContentKind, ...]


def order_rule(order_id: str) -> str:
    return f"{ORDER_ACTION}:{order_id}"


class OrderTargets:
    def __init__(self, db: Database, channels: ChannelStore, accounts: AccountStore,
                 actions: ActionService, takedowns: TakedownService, clock: Clock) -> None:
        self.db = db
        self.channels = channels
        self.accounts = accounts
        self.actions = actions
        self.takedowns = takedowns
        self.clock = clock

    async def resolve(self, spec: TargetSpec) -> Target:
        """The target as stored (404 when there is none, or it is deleted)."""
        async with self.db.read() as conn:
            if spec.kind is TargetKind.POST:
                post, channel = await self._post(conn, spec)
                if post is None or channel is None or post.deleted_at is not None:
                    raise NotFound("no such post", "target_not_found")
                kinds = [ContentKind.TEXT] if post.text else []
                if json.loads(post.media):
                    kinds.append(ContentKind.IMAGE)
                return Target(TargetKind.POST, str(post.id), post.author_id or channel.owner_id,
                              post.created_at, tuple(kinds or [ContentKind.TEXT]))
            if spec.kind is TargetKind.CHANNEL:
                number = id_of(spec.key)
                channel = (await self.channels.by_id(conn, number) if number is not None
                           else await self.channels.by_handle(conn, spec.key[:HANDLE_MAX]))
                if channel is None:
                    raise NotFound("no such channel", "target_not_found")
                return Target(TargetKind.CHANNEL, str(channel.id), channel.owner_id,
                              channel.created_at, (ContentKind.TEXT,))
            number = id_of(spec.key)
            user = (await self.accounts.user_by_id(conn, number) if number is not None
                    else await self.accounts.user_by_name(conn, spec.key[:HANDLE_MAX]))
            if user is None or user.deleted_at is not None:
                raise NotFound("no such account", "target_not_found")
            return Target(TargetKind.ACCOUNT, str(user.id), user.id, user.created_at,
                          (ContentKind.OTHER,))

    async def _post(self, conn: AsyncConnection, spec: TargetSpec
                    ) -> tuple[PostRecord | None, ChannelRecord | None]:
        """A post by its public URL (the channel's handle and the post's number in it) or,
        from staff tools, by ``post:ID``."""
        if spec.number is not None:
            channel = await self.channels.by_handle(conn, spec.key[:HANDLE_MAX])
            if channel is None:
                return None, None
            return await self.channels.post_by_number(conn, channel.id, spec.number), channel
        assert spec.post_id is not None
        post = await self.channels.post(conn, spec.post_id)
        return post, await self.channels.by_id(conn, post.channel_id) if post else None

    async def disable(self, order: OrderRow, actor: str, *, allow_staff: bool = False
                      ) -> dict[str, Any]:
        """Remove or disable the target now; returns the snapshot for a reversal."""
        kind = TargetKind(order.target_kind)
        rule = order_rule(order.id)
        if kind is TargetKind.POST:
            async with self.db.read() as conn:
                post = await self.channels.post(conn, int(order.target_ref))
            if post is None:
                raise NotFound("the post is gone", "target_not_found")
            await self.takedowns.remove_post(post.id, actor, rule=rule, labels=(order.label,),
                                             preserve=False)
            return {"post_id": post.id, "state": post.state}
        if kind is TargetKind.CHANNEL:
            return await self._ban(order, actor, rule)
        return await self._suspend(order, actor, rule, allow_staff)

    async def _ban(self, order: OrderRow, actor: str, rule: str) -> dict[str, Any]:
        channel_id = int(order.target_ref)
        ground = BAN_NOTICE_BY_LABEL.get(order.label, DEFAULT_BAN_NOTICE)
        target = f"channel:{channel_id}"
        now = self.clock()
        async with self.db.write() as conn:
            channel = await self.channels.by_id(conn, channel_id)
            if channel is None:
                raise NotFound("the channel is gone", "target_not_found")
            key = idempotency_key(ORDER_ACTION, ActionKind.BAN_CHANNEL, target, order.id)
            if await self.actions.store.claim(
                    conn, key, kind=ActionKind.BAN_CHANNEL.value, rule=rule, ruleset_version=0,
                    target=target, cause=f"order:{order.reference}"[:160], actor=actor,
                    created_at=now):
                await self.actions.store.ban_channel(conn, channel_id, channel.owner_id,
                                                     ground, rule, now)
                await self.actions.store.audit(conn, AuditRecord(
                    actor, ActionKind.BAN_CHANNEL.value, rule, target, now,
                    {"order": order.id, "reference": order.reference, "label": order.label,
                     "previous_state": channel.state}))
        await self.actions.announce_ban(channel_id, ground, order.label, "order")
        return {"channel_id": channel_id, "state": channel.state}

    async def _suspend(self, order: OrderRow, actor: str, rule: str,
                       allow_staff: bool) -> dict[str, Any]:
        user_id = int(order.target_ref)
        target = f"account:{user_id}"
        now = self.clock()
        async with self.db.write() as conn:
            user = await self.accounts.user_by_id(conn, user_id)
            if user is None or user.deleted_at is not None:
                raise NotFound("the account is gone", "target_not_found")
            if user.role != "user" and not allow_staff:
                raise Unprocessable(
                    f"the account has the role {user.role}; staff and authority accounts are "
                    "not suspended automatically: a moderator must decide", "protected_account")
            key = idempotency_key(ORDER_ACTION, ActionKind.SUSPEND_ACCOUNT, target, order.id)
            if await self.actions.store.claim(
                    conn, key, kind=ActionKind.SUSPEND_ACCOUNT.value, rule=rule,
                    ruleset_version=0, target=target, cause=f"order:{order.reference}"[:160],
                    actor=actor, created_at=now):
                if user.suspended_at is None:
                    await self.accounts.set_suspended(conn, user_id, now)
                await self.actions.store.audit(conn, AuditRecord(
                    actor, ActionKind.SUSPEND_ACCOUNT.value, rule, target, now,
                    {"order": order.id, "reference": order.reference, "label": order.label}))
        if user.suspended_at is None:  # live sockets close now (the log has it too)
            await end_sessions(self.actions.bus,
                               [SessionEnded(user_id, None, EndReason.SUSPENDED, now)])
        return {"user_id": user_id, "suspended_at": user.suspended_at}


def valid_label(label: str | None) -> str:
    from tidings.moderation.rules import normalize_label

    full = normalize_label(label or L.TERRORIST_CONTENT)
    if full is None or full not in L.CATEGORIES:
        raise Unprocessable("label must be a category: " + ", ".join(
            sorted(c.split(":", 1)[1] for c in L.CATEGORIES)), "invalid_label")
    return full

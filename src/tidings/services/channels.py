"""Public channels: create, describe, hand out admin rights, subscribe, find.

Names people see are checked twice before they exist: the handle by rule, reserved
names and lookalikes (its ``handle_key`` sits in a unique column, so ``paypa1`` cannot
join ``paypal`` even under a race), and the title by its key against every other
channel's handle and title, so a channel cannot pose as another by its title either.
Then all of handle, title, description and avatar pass the moderation gate.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.bus.base import Bus
from tidings.moderation.engine import Actor, Surface
from tidings.moderation.reasons import OTHER_POLICY
from tidings.moderation.resemblance import Resemblance
from tidings.moderation.rules import resemblance_rules
from tidings.protocol import limits
from tidings.protocol.confusables import handle_key
from tidings.protocol.control import JoinChannel, LeaveChannel
from tidings.protocol.errors import BadRequest, Conflict, Forbidden, NotFound
from tidings.protocol.handles import (
    HANDLE_MAX,
    HandleError,
    check_not_reserved,
    check_title_not_reserved,
    clean_channel_description,
    clean_channel_title,
    normalize_handle,
)
from tidings.protocol.names import NameField, check_decorations, conflict_message, name_key
from tidings.services.accounts import Principal
from tidings.services.channel_access import (
    NOBODY,
    Perms,
    channel_json,
    check_visible,
    perms_of,
    require,
)
from tidings.services.clock import Clock
from tidings.services.live import channel_topic as channel_topic
from tidings.services.live import to_device
from tidings.services.media import MediaService
from tidings.services.moderation import VISIBLE, ModerationService, gate_decision, text_contents
from tidings.services.returning import EDITABLE, RETURNING_FLAG, ReturningChannels
from tidings.storage.accounts import AccountStore
from tidings.storage.actions import ActionStore
from tidings.storage.channels import AdminRecord, ChannelRecord, ChannelStore
from tidings.storage.database import Database
from tidings.storage.plan import Plan
from tidings.storage.search import SearchIndex

TITLE_KEY_MAX = 512
VISIBILITIES = ("public", "unlisted")
BANNED = "banned"
NEW_CHANNEL_FLAG = "new_channel"
LOOKALIKE_FLAG = "lookalike_handle"
_LOOKALIKE_NOISE = re.compile(r"[0-9_]+")


PreserveHook = Callable[..., Awaitable[Any]]
"""``PreservationService.preserve(kind, ref, cause, decision)``."""


async def preserve_before_delete(hook: PreserveHook | None, post_ids: Sequence[int]) -> None:
    """Copy posts that moderation still needs before their owner's deletion wipes them."""
    if hook is None:
        return
    for post_id in post_ids:
        await hook("post", str(post_id), "deleted_under_review",
                   {"reason": "deleted by its owner while under review or removed"})


def lookalike_core(handle: str) -> str:
    return _LOOKALIKE_NOISE.sub("", handle_key(handle))




def check_handle(raw: str, extra_reserved: frozenset[str] = frozenset()) -> str:
    try:
        handle = normalize_handle(raw)
        check_not_reserved(handle)
        check_decorations(handle, "handle")
    except HandleError as exc:
        raise (Conflict if exc.code.startswith("reserved") else BadRequest)(
            exc.message, exc.code) from exc
    if handle in extra_reserved:
        raise Conflict(f"the handle {handle!r} is reserved", "reserved_handle")
    return handle


@dataclass(frozen=True, slots=True)
class ChannelView:
    channel: ChannelRecord
    perms: Perms
    subscribed: bool

    def json(self) -> dict[str, Any]:
        return channel_json(self.channel, self.perms, self.subscribed)


class ChannelService:
    def __init__(self, db: Database, store: ChannelStore, search: SearchIndex,
                 accounts: AccountStore, media: MediaService, moderation: ModerationService,
                 bus: Bus, clock: Clock, reserved: frozenset[str] = frozenset(),
                 returning: ReturningChannels | None = None, *, bans: ActionStore,
                 preserve: PreserveHook | None = None) -> None:
        self.db = db
        self.store = store
        self.search_index = search
        self.accounts = accounts
        self.media = media
        self.moderation = moderation
        self.bus = bus
        self.clock = clock
        self.reserved = reserved
        self.returning = returning
        """Compares new and edited channels with banned ones (issue 24)."""
        self.bans = bans
        self.preserve = preserve
        """The preservation store's ``preserve`` (TCO Art. 6)."""

    async def view(self, handle: str, who: Principal | None, invite: str | None = None
                   ) -> ChannelView:
        """The channel as this caller may see it (404/410 otherwise)."""
        channel, admin, subscribed = await self.db.read_plan(
            self._view_plan(handle.lower()[:HANDLE_MAX], who))
        perms = perms_of(channel, who, admin) if channel else NOBODY
        message = None
        if channel is not None and channel.state == BANNED and not (who and who.is_staff):
            async with self.db.read() as conn:
                ground = await self.bans.ban_ground(conn, channel.id)
            message = (f"This channel is unavailable: it was used to spread "
                       f"{ground or 'content that breaks the rules'}.")
        check_visible(channel, perms, invite=invite, subscribed=subscribed,
                      staff=bool(who and who.is_staff), banned_message=message)
        assert channel is not None
        return ChannelView(channel, perms, subscribed)

    def _view_plan(self, handle: str, who: Principal | None
                   ) -> Plan[tuple[ChannelRecord | None, AdminRecord | None, bool]]:
        """The channel, the caller's admin rights and subscription (one SQLite hop)."""
        channel = yield from self.store.by_handle_plan(handle, dialect := self.db.dialect)
        if channel is None or who is None:
            return channel, None, False
        admin = yield from self.store.admin_plan(channel.id, who.user_id, dialect)
        subscribed = yield from self.store.is_subscribed_plan(channel.id, who.user_id, dialect)
        return channel, admin, subscribed

    async def _check_title(self, title: str, channel_id: int | None, owner_id: int) -> str:
        """The title's lookalike key, unless the title looks like another channel or an
        account (not its owner's) or looks official (protocol/names.py)."""
        key = handle_key(title)[:TITLE_KEY_MAX]
        async with self.db.read() as conn:
            other = await self.store.key_owner(conn, key, channel_id)
            if other is not None:
                raise Conflict(await self._looks_like(conn, "title", other),
                               "title_confusable")
        try:
            check_title_not_reserved(title)
        except HandleError as exc:
            raise Conflict(f"the title {title!r} poses as the platform", "reserved_title"
                           ) from exc
        try:
            check_decorations(title, "title")
        except HandleError as exc:
            raise BadRequest(exc.message, exc.code) from exc
        async with self.db.read() as conn:
            if await self.accounts.name_conflict(conn, name_key(title), exclude_id=owner_id,
                                                 channels_too=False):
                raise Conflict(conflict_message("title", "account"), "title_confusable")
        return key

    async def _looks_like(self, conn: AsyncConnection, field: NameField, other: str) -> str:
        """The refusal for a name like another channel's: the other channel is named
        only when it is public (an unlisted one's handle is not told to strangers)."""
        found = await self.store.by_handle(conn, other)
        if found is not None and found.visibility == "public":
            return f"this {field} looks like the channel @{other}"
        return conflict_message(field, "channel")

    async def _avatar(self, avatar: str | None) -> str | None:
        if not avatar:
            return None
        return avatar

    async def create(self, who: Principal, handle: str, title: str, description: str = "",
                     visibility: str = "public", avatar: str | None = None) -> ChannelView:
        handle = check_handle(handle, self.reserved)
        title = clean_channel_title(title)
        description = clean_channel_description(description)
        if visibility not in VISIBILITIES:
            raise BadRequest("visibility is public or unlisted", "invalid_visibility")
        key = handle_key(handle)
        async with self.db.read() as conn:
            if await self.store.count_owned(conn, who.user_id) >= limits.CHANNELS_OWNED_MAX:
                raise Forbidden(f"at most {limits.CHANNELS_OWNED_MAX} channels per account",
                                "too_many_channels")
            if (other := await self.store.key_owner(conn, key)) is not None:
                code = "handle_taken" if other == handle else "handle_confusable"
                raise Conflict(await self._looks_like(conn, "handle", other), code)
            if await self.accounts.name_conflict(conn, name_key(handle), exclude_id=who.user_id,
                                                 channels_too=False):
                raise Conflict(conflict_message("handle", "account"), "handle_confusable")
        title_key = await self._check_title(title, None, who.user_id)
        avatar = await self._avatar(avatar)
        flags = {NEW_CHANNEL_FLAG}
        if await self._lookalike_of_banned(handle):
            flags.add(LOOKALIKE_FLAG)
        found = await self._resemblance(handle, title, description, avatar, None)
        state, fired = await self._gate_details(
            handle, title, description, avatar,
            Actor(who.user_id, None, frozenset(flags | ({RETURNING_FLAG} if found else set()))),
            resemblance=found)
        async with self.db.write() as conn:
            channel = await self.store.create(
                conn, handle=handle, handle_key=key, title=title, title_key=title_key,
                description=description, avatar_sha256=avatar, visibility=visibility,
                invite_token=secrets.token_urlsafe(limits.INVITE_TOKEN_BYTES),
                owner_id=who.user_id, state=state, created_at=self.clock())
            await self.search_index.index_channel(conn, channel.id, handle, title, description)
        if state != VISIBLE and self.returning is not None:
            await self.returning.channel_held(channel, fired, self._returning(found, fired))
        return ChannelView(channel, perms_of(channel, who, None), False)

    def _returning(self, found: Resemblance | None, fired: frozenset[str]
                   ) -> Resemblance | None:
        """The resemblance, when a rule on it is among those that fired."""
        return found if found and fired & resemblance_rules(self.moderation.ruleset) else None

    async def _resemblance(self, handle: str, title: str, description: str,
                           avatar: str | None, channel_id: int | None) -> Resemblance | None:
        if self.returning is None:
            return None
        traits = await self.returning.channel_traits(handle, title, description, avatar)
        return await self.returning.resemblance(traits, exclude=channel_id)

    async def _lookalike_of_banned(self, handle: str) -> bool:
        """Does the handle differ from a banned channel's only by digits and ``_``?
        (Exact confusables are refused outright by the unique ``handle_key``.)"""
        async with self.db.read() as conn:
            banned = await self.bans.banned_handles(conn)
        core = lookalike_core(handle)
        return bool(core) and any(lookalike_core(b) == core for b in banned)

    async def _gate_details(self, handle: str | None, title: str | None,
                            description: str | None, avatar: str | None,
                            actor: Actor, keep: Sequence[str] = (),
                            resemblance: Resemblance | None = None
                            ) -> tuple[str, frozenset[str]]:
        """Every changed public field passes the gate; any hold holds the channel.
        Returns the state and the rules that fired. The channel's resemblance to a banned
        one is one fact of the whole channel: it goes with the first field checked only,
        so a returning channel is held (and explained) once, not once per field."""
        checks: list[tuple[Surface, list[Any], Sequence[Any]]] = []
        if handle is not None:
            checks.append((Surface.CHANNEL_HANDLE, text_contents(handle), ()))
        if title is not None:
            checks.append((Surface.CHANNEL_TITLE, text_contents(title), ()))
        if description:
            checks.append((Surface.CHANNEL_DESCRIPTION, text_contents(description), ()))
        if avatar is not None:
            _, avatar_signals = await self.media.resolve([avatar], photos_only=True,
                                                         owner=actor.user_id, keep=keep)
            checks.append((Surface.CHANNEL_AVATAR, [], avatar_signals))
        states, fired = [], set()
        for n, (surface, contents, found) in enumerate(checks):
            who = replace(actor, resemblance=resemblance) if n == 0 else actor
            state, decision = await gate_decision(self.moderation, surface, contents, who,
                                                  found)
            states.append(state)
            fired |= set(decision.outcome.fired if decision.outcome else ())
        return next((s for s in states if s != VISIBLE), VISIBLE), frozenset(fired)

    async def edit(self, who: Principal, handle: str, *, title: str | None = None,
                   description: str | None = None, avatar: str | None = None,
                   visibility: str | None = None) -> ChannelView:
        current = await self.view(handle, who)
        require(current.perms.manage, "change the channel's details")
        values: dict[str, Any] = {}
        if title is not None:
            title = clean_channel_title(title)
            values["title_key"] = await self._check_title(title, current.channel.id,
                                                          current.channel.owner_id)
            values["title"] = title
        if description is not None:
            values["description"] = description = clean_channel_description(description)
        if avatar is not None:
            values["avatar_sha256"] = await self._avatar(avatar)
        if visibility is not None:
            if visibility not in VISIBILITIES:
                raise BadRequest("visibility is public or unlisted", "invalid_visibility")
            values["visibility"] = visibility
        kept = [current.channel.avatar_sha256] if current.channel.avatar_sha256 else []
        old = current.channel
        found = None
        if any(k in values for k in EDITABLE):
            found = await self._resemblance(
                old.handle, values.get("title", old.title),
                values.get("description", old.description),
                values.get("avatar_sha256", old.avatar_sha256), old.id)
        state, fired = await self._gate_details(
            None, title, description, values.get("avatar_sha256"),
            Actor(who.user_id, old.id, frozenset({RETURNING_FLAG} if found else ())), kept,
            resemblance=found)
        pending: dict[str, Any] = {}
        returning = self._returning(found, fired)
        if (state != VISIBLE and returning is not None and self.returning is not None
                and self.returning.established(old) and old.state == VISIBLE):
            # An established channel is not held whole for one edit: the edit waits
            # (reverted pending review) and the channel stays as it was (issue 24).
            pending = {k: values.pop(k) for k in (*EDITABLE, "title_key") if k in values}
        elif state != VISIBLE:
            values["state"] = state
        async with self.db.write() as conn:
            if values:
                await self.store.update(conn, current.channel.id, **values)
            channel = await self.store.by_id(conn, current.channel.id)
            assert channel is not None
            await self.search_index.index_channel(conn, channel.id, channel.handle,
                                                  channel.title, channel.description)
        if state != VISIBLE and self.returning is not None:
            await self.returning.channel_held(channel, fired, returning, pending or None)
        return ChannelView(channel, current.perms, current.subscribed)

    async def rotate_invite(self, who: Principal, handle: str) -> ChannelView:
        current = await self.view(handle, who)
        require(current.perms.manage, "change the invite link")
        async with self.db.write() as conn:
            await self.store.update(conn, current.channel.id,
                                    invite_token=secrets.token_urlsafe(limits.INVITE_TOKEN_BYTES))
            channel = await self.store.by_id(conn, current.channel.id)
        assert channel is not None
        return ChannelView(channel, current.perms, current.subscribed)

    async def delete(self, who: Principal, handle: str) -> None:
        """Soft delete (``ChannelStore.soft_delete``): the channel and its posts keep their
        ids, so nothing that moderation holds about them can come to mean someone else's
        new channel or post. Posts a review case is still about (or that are held or
        removed) are preserved first, as moderation needs them, and a channel deleted
        while under review is fingerprinted as a banned one is (``under_review`` with the
        placeholder post 0 answers "is a case about the channel itself open?")."""
        current = await self.view(handle, who)
        require(current.perms.owner, "delete the channel (owner only)")
        channel_id = current.channel.id
        async with self.db.read() as conn:
            post_ids = await self.store.post_ids(conn, channel_id)
            keep = await self.store.under_review(conn, channel_id, post_ids)
            keep |= {p.id for p in await self.store.posts_by_ids(conn, post_ids)
                     if p.deleted_at is None and p.state != VISIBLE}
            reviewed = bool(keep) or current.channel.state != VISIBLE or bool(
                await self.store.under_review(conn, channel_id, [0]))
        await preserve_before_delete(self.preserve, sorted(keep))
        if reviewed and self.returning is not None:  # deleting does not escape (issue 24)
            await self.returning.fingerprint(channel_id, OTHER_POLICY, "deleted_under_review")
        async with self.db.write() as conn:
            await self.search_index.unindex_channel(conn, channel_id)
            for post_id in post_ids:
                await self.search_index.unindex_post(conn, post_id)
            await self.store.soft_delete(conn, channel_id, self.clock())

    # --- admins ---------------------------------------------------------------------
    async def admins(self, who: Principal, handle: str) -> list[dict[str, Any]]:
        current = await self.view(handle, who)
        require(current.perms.admin, "see the admins")
        async with self.db.read() as conn:
            admins = await self.store.admins(conn, current.channel.id)
            owner = await self.accounts.user_by_id(conn, current.channel.owner_id)
        out = [{"username": owner.username if owner else None, "owner": True, "can_post": True,
                "can_edit_others": True, "can_manage_admins": True}]
        out += [{"username": a.username, "owner": False, "can_post": a.can_post,
                 "can_edit_others": a.can_edit_others,
                 "can_manage_admins": a.can_manage_admins} for a in admins]
        return out

    async def set_admin(self, who: Principal, handle: str, username: str, *, can_post: bool,
                        can_edit_others: bool, can_manage_admins: bool) -> None:
        current = await self.view(handle, who)
        require(current.perms.manage, "manage admins")
        async with self.db.write() as conn:
            user = await self.accounts.user_by_name(conn, username.lower()[:limits.USERNAME_MAX])
            if user is None or user.deleted_at is not None:
                raise NotFound(f"no user {username!r}", "user_not_found")
            if user.id == current.channel.owner_id:
                raise BadRequest("the owner has every right already", "is_owner")
            existing = await self.store.admin(conn, current.channel.id, user.id)
            if existing is None and len(await self.store.admins(
                    conn, current.channel.id)) >= limits.CHANNEL_ADMINS_MAX:
                raise Forbidden(f"at most {limits.CHANNEL_ADMINS_MAX} admins",
                                "too_many_admins")
            await self.store.set_admin(conn, current.channel.id, user.id, can_post,
                                       can_edit_others, can_manage_admins)

    async def remove_admin(self, who: Principal, handle: str, username: str) -> None:
        current = await self.view(handle, who)
        async with self.db.write() as conn:
            user = await self.accounts.user_by_name(conn, username.lower()[:limits.USERNAME_MAX])
            if user is None:
                raise NotFound(f"no user {username!r}", "user_not_found")
            # An admin may always step down; removing others needs the right to manage.
            require(current.perms.manage or user.id == who.user_id, "manage admins")
            if not await self.store.remove_admin(conn, current.channel.id, user.id):
                raise NotFound(f"{username} is not an admin here", "not_admin")

    # --- subscriptions --------------------------------------------------------------
    async def subscribe(self, who: Principal, handle: str, invite: str | None = None
                        ) -> ChannelView:
        current = await self.view(handle, who, invite)
        async with self.db.write() as conn:
            ids = await self.store.subscribed_ids(conn, who.user_id)
            if len(ids) >= limits.CHANNEL_SUBSCRIPTIONS_MAX:
                raise Forbidden(f"at most {limits.CHANNEL_SUBSCRIPTIONS_MAX} subscriptions",
                                "too_many_subscriptions")
            await self.store.subscribe(conn, current.channel.id, who.user_id, self.clock())
            channel = await self.store.by_id(conn, current.channel.id)
        assert channel is not None
        await self._tell_devices(who, JoinChannel(channel.id))
        return ChannelView(channel, current.perms, True)

    async def _tell_devices(self, who: Principal, change: JoinChannel | LeaveChannel
                            ) -> None:
        """Live connections of all the user's devices start or stop following."""
        async with self.db.read() as conn:
            devices = await self.accounts.devices_of(conn, who.user_id)
        for device in devices:
            await to_device(self.bus, device.id, change)

    async def unsubscribe(self, who: Principal, handle: str) -> None:
        current = await self.view(handle, who)
        async with self.db.write() as conn:
            await self.store.unsubscribe(conn, current.channel.id, who.user_id)
        await self._tell_devices(who, LeaveChannel(current.channel.id))

    async def subscriptions(self, who: Principal) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            ids = await self.store.subscribed_ids(conn, who.user_id)
            found = {c.id: c for c in await self.store.by_ids(conn, ids)}
        return [channel_json(found[i], NOBODY, True) for i in ids
                if i in found and found[i].state == VISIBLE]

    async def subscribed_ids(self, user_id: int) -> list[int]:
        async with self.db.read() as conn:
            return await self.store.subscribed_ids(conn, user_id)

    async def live_ids(self, user_id: int) -> list[int]:
        """The subscribed channels a socket follows live: visible ones only, so a banned
        or removed channel's feed is not re-attached when the subscriber reconnects."""
        async with self.db.read() as conn:
            ids = await self.store.subscribed_ids(conn, user_id)
            return [c.id for c in await self.store.by_ids(conn, ids) if c.state == VISIBLE]

    async def most_followed(self, limit: int) -> list[dict[str, Any]]:
        """Public, visible channels by subscribers, as anyone may see them."""
        async with self.db.read() as conn:
            found = await self.store.most_followed(conn, limit)
        return [channel_json(c) for c in found if c.state == VISIBLE]

    async def search(self, query: str, limit: int) -> list[dict[str, Any]]:
        limit = max(1, min(limit, limits.SEARCH_RESULTS_MAX))
        async with self.db.read() as conn:
            ids = await self.search_index.channels(conn, query, limit)
            found = {c.id: c for c in await self.store.by_ids(conn, ids)}
        return [channel_json(found[i]) for i in ids if i in found and found[i].state == VISIBLE]

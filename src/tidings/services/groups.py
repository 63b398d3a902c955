"""Private groups: membership the server must know, content it must not.

Membership (who, and who is an admin) is server state: the server has to know whose
devices a group message goes to. The content is a Megolm ciphertext, encrypted once
by the sending device (docs/crypto.md); the server stores it **once** in
``group_messages`` and appends to each member device's stream a compact event that
carries the message id and metadata, not the ciphertext. The ciphertext is put into
the event when it is delivered (:meth:`GroupCiphertexts.expand`, given to
``StreamService``): a 1,000-member group with 3 devices each costs one ciphertext row
and 3,000 rows of ~400 bytes, not 3,000 copies of up to 256 KiB. Live delivery is
expanded from a small in-memory cache of just-stored ciphertexts, so it reads nothing;
catch-up reads ciphertexts with one ``IN`` query per page. A ciphertext is deleted
once no stream event refers to it any more (every device acknowledged) or when the
group's disappearing-message timer runs out (:meth:`prune`).

Each message carries the sender's franking commitment; the server's tag binds the
conversation ``"group:<group_id>"`` so a report cannot be moved to another chat.
Membership changes are stream events (kind ``group``) to the members' devices,
including the removed member's, which is the last thing it hears about the group.
"""

from __future__ import annotations

import secrets
from base64 import b32encode
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from tidings.moderation import TextContent
from tidings.moderation.engine import Surface, Verdict
from tidings.protocol import limits
from tidings.protocol.errors import BadRequest, Conflict, Forbidden, NotFound, Unprocessable
from tidings.protocol.franking import FrankingKeyring
from tidings.protocol.keys import b64decode, b64encode
from tidings.services.accounts import Principal, named_user
from tidings.services.clock import Clock
from tidings.services.contacts import ContactService
from tidings.services.directory import DirectoryCache
from tidings.services.group_ciphertexts import GroupCiphertexts
from tidings.services.messages import Sent, new_message_id
from tidings.services.moderation import ModerationService, rejection
from tidings.services.streams import StreamService, dumps
from tidings.storage.accounts import AccountStore
from tidings.storage.committer import AppendJob, Dedup, GroupCommitter
from tidings.storage.database import Database
from tidings.storage.group_schema import group_messages
from tidings.storage.groups import GROUP_MESSAGE_KIND, GroupRecord, GroupStore, Member
from tidings.storage.invitations import DECLINED, HIDDEN, PENDING, InvitationStore

GROUP_EVENT_KIND = "group"
INVITATION_KIND = "invitation"
GROUP_ID_BYTES = 10


class GroupFull(Unprocessable):
    default_code = "group_full"


@dataclass(frozen=True, slots=True)
class GroupSend:
    client_id: str
    session_id: str
    ciphertext: str
    commitment: str


@dataclass(frozen=True, slots=True)
class GroupView:
    id: str
    title: str
    timer_ms: int | None
    members: list[Member]
    invited: list[str] | None = None
    """In the answer to an inviter only: who this call invited."""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "timer_ms": self.timer_ms,
                "members": [m.username for m in self.members],
                "admins": [m.username for m in self.members if m.admin],
                **({"invited": self.invited} if self.invited is not None else {})}


def new_group_id() -> str:
    return "G" + b32encode(secrets.token_bytes(GROUP_ID_BYTES)).decode().rstrip("=")


class GroupService:
    def __init__(self, db: Database, store: GroupStore, accounts: AccountStore,
                 streams: StreamService, committer: GroupCommitter, directory: DirectoryCache,
                 keyring: FrankingKeyring, moderation: ModerationService, clock: Clock,
                 contacts: ContactService | None, invitations: InvitationStore,
                 ciphertexts: GroupCiphertexts) -> None:
        self.db = db
        self.invitations = invitations
        self.ciphertexts = ciphertexts
        """The once-stored ciphertexts, remembered here for live delivery."""
        self.contacts = contacts
        """Blocks (services/contacts.py): a member who blocked the sender gets nothing."""
        self.store = store
        self.accounts = accounts
        self.streams = streams
        self.committer = committer
        self.directory = directory
        self.keyring = keyring
        self.moderation = moderation
        self.clock = clock
        self._since_prune = 0

    # -- membership ---------------------------------------------------------------------
    async def create(self, who: Principal, title: str, members: Sequence[str],
                     admins: Sequence[str]) -> GroupView:
        """Create a group with you as its only member and admin; everyone named is
        *invited* (issue 20): nothing of the group reaches them until they accept."""
        title = await self._check_title(title)
        names = {_name(n) for n in members} | {_name(n) for n in admins} | {who.username}
        if len(names) > limits.GROUP_MEMBERS_MAX:
            raise GroupFull(f"a group has at most {limits.GROUP_MEMBERS_MAX} members")
        if len(names) - 1 > limits.GROUP_CHANGE_USERS_MAX:
            raise BadRequest(f"name at most {limits.GROUP_CHANGE_USERS_MAX} users at once",
                             "too_many_users")
        admin_names = {_name(n) for n in admins} | {who.username}
        if len(admin_names) > limits.GROUP_ADMINS_MAX:
            raise BadRequest(f"a group has at most {limits.GROUP_ADMINS_MAX} admins",
                             "too_many_admins")
        gid = new_group_id()
        async with self.db.write() as conn:
            ids = await self._user_ids(conn, names)
            await self._check_group_counts(conn, [who.user_id])
            await self.store.create(conn, gid, title, who.user_id, self.clock(),
                                    {who.user_id: True})
            invited = await self._invite(conn, who, gid, {
                uid: name in admin_names for name, uid in ids.items() if uid != who.user_id})
            view = await self._view(conn, gid)
        await self._announce(view.members, gid, "created", who, view)
        await self._tell_invited(invited, gid, who)
        return replace(view, invited=sorted(ids.keys() - {who.username}))

    async def get(self, who: Principal, gid: str) -> GroupView:
        async with self.db.read() as conn:
            view = await self._view(conn, gid)
        _member(view, who)
        return view

    async def is_member(self, conversation: str, username: str) -> bool:
        """Whether ``username`` is in the group named by a franking conversation
        (``group:<id>``): the check for reports of group messages."""
        if not conversation.startswith("group:"):
            return False
        async with self.db.read() as conn:
            members = await self.store.members(conn, conversation[len("group:"):])
        return any(m.username == username for m in members)

    async def mine(self, who: Principal) -> list[GroupRecord]:
        async with self.db.read() as conn:
            return await self.store.groups_of(conn, who.user_id)

    async def add(self, who: Principal, gid: str, users: Sequence[str]) -> GroupView:
        """Invite users (issue 20): each gets an invitation, not membership. The answer
        lists everyone named as invited, whatever became of the invitation (blocked, over
        the invitee's cap, declined earlier), so the inviter learns nothing from it."""
        if not 1 <= len(users) <= limits.GROUP_CHANGE_USERS_MAX:
            raise BadRequest(f"name 1..{limits.GROUP_CHANGE_USERS_MAX} users", "too_many_users")
        async with self.db.write() as conn:
            view = await self._view(conn, gid)
            _admin(view, who)
            present = {m.username for m in view.members}
            ids = await self._user_ids(conn, {_name(u) for u in users} - present)
            if len(present) + len(ids) > limits.GROUP_MEMBERS_MAX:
                raise GroupFull(f"a group has at most {limits.GROUP_MEMBERS_MAX} members")
            invited = await self._invite(conn, who, gid, dict.fromkeys(ids.values(), False))
            after = await self._view(conn, gid)
        await self._tell_invited(invited, gid, who)
        return replace(after, invited=sorted(ids))

    # -- invitations (issue 20: consent to groups) ---------------------------------------
    async def _invite(self, conn: Any, who: Principal, gid: str, users: dict[int, bool]
                      ) -> list[int]:
        """Store invitations; returns who is to be told (pending, not hidden)."""
        now = self.clock()
        await self.invitations.prune(conn, now)
        already = await self.invitations.invited(conn, gid, now)
        new = {uid: admin for uid, admin in users.items() if uid not in already}
        if not new:
            return []
        outstanding = await self.invitations.count_by_inviter(conn, who.user_id, now)
        if outstanding + len(new) > limits.GROUP_INVITES_PER_INVITER_MAX:
            raise Conflict(f"you can have at most {limits.GROUP_INVITES_PER_INVITER_MAX} "
                           "group invitations outstanding; they expire after "
                           f"{limits.GROUP_INVITE_TTL_MS // 86_400_000} days",
                           "too_many_invitations")
        pending = await self.invitations.pending_counts(conn, list(new), now)
        blockers: set[int] = set()
        if self.contacts is not None:
            blockers = await self.contacts.store.blockers(conn, who.user_id, list(new))
        told = []
        for uid, admin in sorted(new.items()):
            hidden = uid in blockers or pending.get(uid, 0) >= limits.GROUP_INVITES_PER_INVITEE_MAX
            await self.invitations.add(conn, gid, uid, who.user_id, admin,
                                       HIDDEN if hidden else PENDING, now,
                                       now + limits.GROUP_INVITE_TTL_MS)
            if not hidden:
                told.append(uid)
        return told

    async def _tell_invited(self, user_ids: Sequence[int], gid: str, who: Principal) -> None:
        """An ``invitation`` event: who invited you to which group id, nothing else."""
        if not user_ids:
            return
        async with self.db.read() as conn:
            devices = await self.store.devices_of_users(conn, list(user_ids))
        body = {"group": gid, "event": "invited", "by": who.username, "ts": self.clock()}
        await self.streams.append([(d, INVITATION_KIND, body) for d in devices])

    async def invitations_of(self, who: Principal) -> list[dict[str, Any]]:
        """Your pending invitations: group id, who invited you, when, until when."""
        async with self.db.read() as conn:
            rows = await self.invitations.of_user(conn, who.user_id, self.clock(),
                                                  limits.GROUP_INVITES_PER_INVITEE_MAX)
        return [{"group": i.group_id, "by": i.inviter, "ts": i.created_at,
                 "expires_at": i.expires_at} for i in rows]

    async def accept(self, who: Principal, gid: str) -> GroupView:
        """Join a group you were invited to; only now does anything of it reach you."""
        async with self.db.write() as conn:
            invitation = await self.invitations.get(conn, gid, who.user_id, self.clock())
            if invitation is None or invitation.state != PENDING:
                raise NotFound("no such invitation", "no_invitation")
            view = await self._view(conn, gid)
            if len(view.members) >= limits.GROUP_MEMBERS_MAX:
                raise GroupFull(f"a group has at most {limits.GROUP_MEMBERS_MAX} members")
            await self._check_group_counts(conn, [who.user_id])
            await self.store.add_members(conn, gid, {who.user_id: invitation.admin},
                                         self.clock())
            await self.invitations.remove(conn, gid, who.user_id)
            after = await self._view(conn, gid)
        await self._announce(after.members, gid, "joined", who, after, [who.username])
        return after

    async def decline(self, who: Principal, gid: str) -> None:
        """Refuse an invitation. Silent: to the inviter it stays "invited" until it
        expires, exactly like one that was never answered."""
        async with self.db.write() as conn:
            invitation = await self.invitations.get(conn, gid, who.user_id, self.clock())
            if invitation is None or invitation.state != PENDING:
                raise NotFound("no such invitation", "no_invitation")
            await self.invitations.set_state(conn, gid, who.user_id, DECLINED)

    async def remove(self, who: Principal, gid: str, user: str) -> GroupView:
        """Remove a member (or withdraw an invitation); ``user`` is checked whole
        (``named_user``)."""
        user = named_user(user)
        if user == who.username:
            return await self.leave(who, gid)
        async with self.db.write() as conn:
            view = await self._view(conn, gid)
            _admin(view, who)
            gone = next((m for m in view.members if m.username == user), None)
            if gone is None:
                target = await self.accounts.user_by_name(conn, user)
                if target is not None and await self.invitations.remove(conn, gid, target.id):
                    return view  # an invitation withdrawn (whatever its state)
                raise NotFound(f"{user} is not a member", "not_a_member")
            await self.store.remove_member(conn, gid, gone.user_id)
            after = await self._view(conn, gid)
        await self._announce([*after.members, gone], gid, "removed", who, after, [user])
        return after

    async def leave(self, who: Principal, gid: str) -> GroupView:
        async with self.db.write() as conn:
            view = await self._view(conn, gid)
            me = _member(view, who)
            await self.store.remove_member(conn, gid, who.user_id)
            rest = [m for m in view.members if m.user_id != who.user_id]
            if not rest:
                await self.store.delete(conn, gid)
            elif not any(m.admin for m in rest):
                # The last admin left: the longest-standing member takes over, so the
                # group is never left without anyone who can manage it.
                await self.store.set_admin(conn, gid, rest[0].user_id, True)
            after = await self._view(conn, gid) if rest else GroupView(gid, view.title,
                                                                         view.timer_ms, [])
        await self._announce([*after.members, me], gid, "left", who, after, [who.username])
        return after

    async def leave_all(self, who: Principal) -> int:
        """A deleted account leaves every group (announced to the members as a leave,
        with the admin handed on as on any leave) and its invitations go: nobody keeps
        seeing a deleted account as a member or an invitee. Returns the groups left."""
        async with self.db.write() as conn:
            await self.invitations.remove_all_of(conn, who.user_id)
            mine = await self.store.groups_of(conn, who.user_id)
        for group in mine:
            await self.leave(who, group.id)
        return len(mine)

    async def set_title(self, who: Principal, gid: str, title: str) -> GroupView:
        title = await self._check_title(title)
        async with self.db.write() as conn:
            _admin(await self._view(conn, gid), who)
            await self.store.update(conn, gid, title=title)
            after = await self._view(conn, gid)
        await self._announce(after.members, gid, "title", who, after)
        return after

    async def set_timer(self, who: Principal, gid: str, timer_ms: int | None) -> GroupView:
        """Any member may set the disappearing-message timer (as in Signal)."""
        if timer_ms is not None and not (limits.DISAPPEAR_MIN_MS <= timer_ms
                                         <= limits.DISAPPEAR_MAX_MS):
            raise BadRequest(f"timer must be {limits.DISAPPEAR_MIN_MS}.."
                             f"{limits.DISAPPEAR_MAX_MS} ms or null", "bad_timer")
        async with self.db.write() as conn:
            _member(await self._view(conn, gid), who)
            await self.store.update(conn, gid, timer_ms=timer_ms, clear_timer=timer_ms is None)
            after = await self._view(conn, gid)
        await self._announce(after.members, gid, "timer", who, after)
        return after

    # -- messages -----------------------------------------------------------------------
    async def send(self, who: Principal, gid: str, req: GroupSend) -> Sent:
        _check_send(req)
        async with self.db.read() as conn:
            view = await self._view(conn, gid)
            _member(view, who)
            member_ids = [m.user_id for m in view.members]
            if self.contacts is not None:
                blockers = await self.contacts.store.blockers(conn, who.user_id, member_ids)
                member_ids = [uid for uid in member_ids if uid not in blockers]
            targets = await self.store.devices_of_users(conn, member_ids)
        mine = await self.directory.get(who.username)
        sender_key = mine.devices.get(who.device_id) if mine is not None else None
        if sender_key is None:
            raise Conflict("this device has not published its keys yet", "no_device_keys")
        ts = self.clock()
        mid = new_message_id()
        conversation = f"group:{gid}"
        key_id, tag = self.keyring.tag(b64decode(req.commitment), who.username, who.device_id,
                                       conversation, ts)
        # "id" first: GroupStore.prune and _ref rely on bodies starting {"id":"<id>".
        body = dumps({"id": mid, "group": gid, "from": who.username, "device": who.device_id,
                      "sender_key": sender_key, "session_id": req.session_id, "ts": ts,
                      "commitment": req.commitment, "tag": b64encode(tag), "key_id": key_id,
                      "conversation": conversation,
                      **({"expires_at": ts + view.timer_ms} if view.timer_ms else {})})
        self.ciphertexts.remember(mid, req.ciphertext)
        expires_at = ts + view.timer_ms if view.timer_ms else None
        row = {"id": mid, "group_id": gid, "ciphertext": req.ciphertext, "created_at": ts,
               "expires_at": expires_at}
        result = await self.committer.append(AppendJob(
            [(d, GROUP_MESSAGE_KIND, body) for d in targets if d != who.device_id],
            Dedup(who.device_id, req.client_id, mid, ts), [(group_messages, row)],
            expires_at))
        await self._maybe_prune()
        return Sent(result.message_id, result.ts, result.duplicate)

    async def prune(self) -> int:
        async with self.db.write() as conn:
            return await self.store.prune(conn, self.clock())

    # -- helpers --------------------------------------------------------------------------
    async def _maybe_prune(self) -> None:
        self._since_prune += 1
        if self._since_prune >= limits.GROUP_PRUNE_EVERY:
            self._since_prune = 0
            await self.prune()

    async def _check_title(self, title: str) -> str:
        title = title.strip()
        if not 1 <= len(title) <= limits.GROUP_TITLE_MAX:
            raise BadRequest(f"title must be 1..{limits.GROUP_TITLE_MAX} characters",
                             "bad_title")
        # Group titles are shown to people who have not joined (invites, member lists of
        # other members): a public surface, checked like a channel title.
        decision = await self.moderation.check(Surface.GROUP_TITLE, [TextContent(title)])
        if decision.verdict is not Verdict.ALLOW:
            raise rejection(decision)
        return title

    async def _view(self, conn: Any, gid: str) -> GroupView:
        group = await self.store.get(conn, gid)
        if group is None:
            raise NotFound("no such group", "group_not_found")
        return GroupView(group.id, group.title, group.timer_ms,
                         await self.store.members(conn, gid))

    async def _user_ids(self, conn: Any, names: set[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for name in sorted(names):
            user = await self.accounts.user_by_name(conn, name)
            if user is None or user.deleted_at is not None:
                raise NotFound(f"no such user: {name}", "user_not_found")
            out[name] = user.id
        return out

    async def _check_group_counts(self, conn: Any, ids: Any) -> None:
        counts = await self.store.count_groups_of(conn, list(ids))
        if any(n >= limits.GROUPS_PER_USER_MAX for n in counts.values()):
            raise Conflict(f"a user can be in at most {limits.GROUPS_PER_USER_MAX} groups",
                           "too_many_groups")

    async def _announce(self, to: Sequence[Member], gid: str, event: str, who: Principal,
                        view: GroupView, users: Sequence[str] = ()) -> None:
        async with self.db.read() as conn:
            devices = await self.store.devices_of_users(conn, [m.user_id for m in to])
        body = {"group": gid, "event": event, "by": who.username, "users": list(users),
                "ts": self.clock(), **view.to_json()}
        await self.streams.append([(d, GROUP_EVENT_KIND, body) for d in devices])


def _name(name: str) -> str:
    return name.strip().lower()


def _member(view: GroupView, who: Principal) -> Member:
    for m in view.members:
        if m.user_id == who.user_id:
            return m
    raise Forbidden("only members of this group may do this", "not_a_member")


def _admin(view: GroupView, who: Principal) -> Member:
    me = _member(view, who)
    if not me.admin:
        raise Forbidden("only admins of this group may do this", "not_an_admin")
    return me


def _check_send(req: GroupSend) -> None:
    if not 1 <= len(req.ciphertext) <= limits.GROUP_CIPHERTEXT_MAX_CHARS:
        raise BadRequest("ciphertext too large or empty", "invalid_message")
    if not 1 <= len(req.session_id) <= limits.GROUP_SESSION_ID_MAX:
        raise BadRequest("bad session_id", "invalid_message")
    try:
        if len(b64decode(req.commitment)) != 32:
            raise ValueError("size")
    except ValueError as exc:
        raise BadRequest("commitment must be base64 of 32 bytes", "bad_commitment") from exc

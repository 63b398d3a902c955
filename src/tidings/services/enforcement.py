"""Apply a moderator's decision to the platform, and undo it when an appeal wins.

A small adapter over the existing services and columns: a post's ``state``, a
channel's ``state`` and a user's ``suspended_at``. Every step is idempotent, so it
works whether or not it is given the takedown service; when it is, removed content is
also banked so copies are caught. ``apply`` returns a snapshot of what was there so
``restore`` can put it back exactly.

Targets are named by ids that are never reused (migration 0011) and channels and posts
are soft-deleted, so a case always acts on the object it judged; a decision to remove
or ban a target its owner deleted is refused (409 ``target_deleted``) and says so.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from tidings.moderation.review import Decision
from tidings.moderation.vocabulary import VocabularyError, check_action
from tidings.protocol.control import ChannelClosed, EndReason, SessionEnded
from tidings.protocol.errors import BadRequest, Conflict, NotFound, TidingsError
from tidings.services.clock import Clock
from tidings.services.live import end_sessions, to_channel
from tidings.services.moderation import HELD, REMOVED, VISIBLE
from tidings.services.posts import PostService
from tidings.services.preservation import PreservationService
from tidings.services.takedowns import TakedownService
from tidings.storage.accounts import AccountStore
from tidings.storage.channels import ChannelStore
from tidings.storage.database import Database

Target = tuple[str, str]
"""(kind, ref): ("post", post id), ("channel", channel id), ("account", user id),
("message", franking commitment)."""


log = logging.getLogger(__name__)
DELETED = "deleted"


class TargetDeleted(Conflict):
    """The case's target was deleted by its owner: the decision is refused and says so
    (the case stays waiting), never applied to whatever now has a similar name."""

    default_code = "target_deleted"

class Enforcer:
    def __init__(self, db: Database, channels: ChannelStore, accounts: AccountStore,
                 posts: PostService, clock: Clock,
                 takedowns: TakedownService | None = None) -> None:
        self.db = db
        self.accounts = accounts
        self.channels = channels
        self.posts = posts
        self.clock = clock
        self.takedowns = takedowns

    async def _refuse_deleted(self, kind: str, post_id: int) -> None:
        async with self.db.read() as conn:
            post = await self.channels.post(conn, post_id)
        if post is None:
            raise NotFound("the post is gone", "post_not_found")
        if post.deleted_at is not None:
            raise TargetDeleted("its owner deleted this post (a preserved copy is kept); "
                                "there is nothing left to remove (close the case with "
                                "no_violation, or act on the account or channel)")

    async def _channel_of(self, kind: str, ref: str) -> int:
        if kind == "channel":
            return int(ref)
        if kind == "post":
            async with self.db.read() as conn:
                post = await self.channels.post(conn, int(ref))
            if post is None:
                raise NotFound("the post is gone", "post_not_found")
            return post.channel_id
        raise BadRequest("ban_channel needs a channel or a post in it", "not_applicable")

    @staticmethod
    def check(decision: Decision, kind: str, affected_user_id: int | None) -> None:
        """Refuse, before anything is stored, a decision that cannot apply to the target
        (the table is ``moderation/vocabulary.py``'s ``ACTIONS``)."""
        try:
            check_action(decision, kind, affected_user_id is not None)
        except VocabularyError as exc:
            raise BadRequest(str(exc), exc.code) from exc

    async def apply(self, decision: Decision, kind: str, ref: str, affected_user_id: int | None,
                    case_id: str, label: str | None = None) -> dict[str, Any]:
        """``label``: the decision's policy (``category:…``); removed content is banked
        under it, so the rules treat copies as what the moderator found it to be."""
        self.check(decision, kind, affected_user_id)
        if decision is Decision.REMOVE:
            await self._refuse_deleted("post", int(ref))
            _, before = await self.posts.set_state(int(ref), REMOVED)
            banked = await self._auto_bank(int(ref), case_id, label)
            preservation = self._preservation()
            if preservation is not None:  # TCO Art. 6: keep a copy of what was removed
                await preservation.preserve("post", ref, "decision",
                                            {"case_id": case_id, "decision": str(decision),
                                             "time_ms": self.clock()}, case_id=case_id)
            return {"post_id": before.id, "state": before.state, "banked": banked,
                    "case_id": case_id}
        if decision is Decision.BAN_CHANNEL:
            channel_id = await self._channel_of(kind, ref)
            async with self.db.write() as conn:
                channel = await self.channels.by_id(conn, channel_id)
                if channel is None:
                    raise NotFound("the channel is gone", "channel_not_found")
                if channel.state == DELETED:
                    raise TargetDeleted("its owner deleted this channel; there is nothing "
                                        "left to ban (close the case with no_violation, or "
                                        "act on the account)")
                await self.channels.update(conn, channel_id, state=REMOVED)
            await to_channel(self.posts.bus, channel_id, ChannelClosed(channel_id))
            takedowns = self.takedowns
            if takedowns is not None:  # its fingerprint is kept (issue 24)
                await takedowns.actions.channel_banned(channel_id, label, "moderator")
            return {"channel_id": channel_id, "state": channel.state}
        if decision is Decision.SUSPEND_ACCOUNT and affected_user_id is not None:
            async with self.db.write() as conn:
                user = await self.accounts.user_by_id(conn, affected_user_id)
                if user is None:
                    raise NotFound("the account is gone", "user_not_found")
                now = self.clock()
                if user.suspended_at is None:
                    await self.accounts.set_suspended(conn, user.id, now)
            if user.suspended_at is None:  # the log has it too (AccountStore.set_suspended)
                await end_sessions(self.posts.bus, [SessionEnded(user.id, None,
                                                                 EndReason.SUSPENDED, now)])
            return {"user_id": affected_user_id, "suspended_at": user.suspended_at}
        return {}

    async def restore(self, snapshot: dict[str, Any]) -> None:
        """Undo ``apply``: the post, channel or account as it was before the decision,
        with media withdrawn at removal put back from the preservation store."""
        preservation = self._preservation()
        if preservation is not None:
            for key, kind in (("post_id", "post"), ("channel_id", "channel"),
                              ("user_id", "account")):
                if key in snapshot:
                    await preservation.restore(kind, str(snapshot[key]))
        if "post_id" in snapshot:
            if self.takedowns is not None:  # its media may be served again
                await self.takedowns.reinstate_media(int(snapshot["post_id"]))
            await self.posts.set_state(int(snapshot["post_id"]), VISIBLE)
            banked = snapshot.get("banked") or []
            if banked:
                await self.undo_consequences([int(e) for e in banked],
                                             str(snapshot.get("case_id", "")))
        elif "channel_id" in snapshot:
            async with self.db.write() as conn:
                await self.channels.update(conn, int(snapshot["channel_id"]),
                                           state=str(snapshot["state"]))
        elif "user_id" in snapshot:
            async with self.db.write() as conn:
                await self.accounts.set_suspended(conn, int(snapshot["user_id"]),
                                                  snapshot["suspended_at"])

    async def release_hold(self, kind: str, ref: str) -> None:
        """A no_violation decision on a held post or channel publishes it."""
        if kind == "channel":
            async with self.db.write() as conn:
                channel = await self.channels.by_id(conn, int(ref))
                if channel is not None and channel.state == HELD:
                    await self.channels.update(conn, channel.id, state=VISIBLE)
            return
        if kind == "post":
            async with self.db.read() as conn:
                post = await self.channels.post(conn, int(ref))
            if post is not None and post.state != VISIBLE:
                await self.posts.set_state(post.id, VISIBLE)

    def _preservation(self) -> PreservationService | None:
        return self.takedowns.preservation if self.takedowns is not None else None

    async def _auto_bank(self, post_id: int, case_id: str, label: str | None = None
                         ) -> list[int]:
        """Removed content goes into the local takedown bank (when the takedown
        service is wired) so a repost in any channel is caught. Returns the entries
        added, which a reversed appeal withdraws."""
        if self.takedowns is None:
            return []
        bank_post = self.takedowns.bank_post_entries
        try:
            banked: list[int] = await bank_post(post_id, (label,) if label else None)
        except TidingsError:  # a policy that is no bank label: the default takedown label
            banked = await bank_post(post_id)
        log.info("review case %s: banked %s signals of post %s", case_id, len(banked), post_id)
        return banked

    async def undo_consequences(self, entry_ids: list[int], case_id: str) -> dict[str, int]:
        """A reversed appeal also undoes what the removal caused: the takedown-bank
        entries it added are disabled (a repost is no longer refused), and what the
        retro-scan did because of exactly those entries is reverted: posts it removed
        are visible again (with their media, and the exact hashes banked when they were
        removed disabled too) and the strikes it gave are withdrawn. Found through the
        audit log, where each retro-scan removal and strike names the entries that
        matched; a measure that another, still enabled entry also caused stands.
        A channel ban those strikes led to is left to a moderator (it has its own case)."""
        takedowns = self.takedowns
        if takedowns is None or not entry_ids:
            return {"entries": 0, "posts": 0, "strikes": 0}
        from tidings.services.actions import LOCAL_TAKEDOWN_BANK
        from tidings.services.retro_scan import RETRO_RULE_ACTOR

        svc = takedowns.actions
        for entry_id in entry_ids:
            await svc.banks.set_entry(LOCAL_TAKEDOWN_BANK, entry_id, enabled=False)
        ours = set(entry_ids)
        async with self.db.read() as conn:
            chain = await svc.store.audit_chain(conn)
            related = [(link.record, caused) for link in chain
                       if (caused := _entry_ids(link.record.details)) & ours]
            causes = sorted({e for _, caused in related for e in caused})
            known = await svc.banks.store.entries_by_ids(conn, causes)
        posts: list[int] = []
        strikes = 0
        for rec, caused in related:
            if any(known[e].enabled for e in caused if e in known):
                continue  # another entry, still enabled, also caused it: it stands
            if rec.action == "remove_post" and rec.actor == RETRO_RULE_ACTOR:
                posts.append(int(rec.target.split(":", 1)[1]))
            elif rec.action == "strike" and rec.target.startswith("account:"):
                async with self.db.write() as conn:
                    strikes += await svc.store.remove_strikes(
                        conn, int(rec.target.split(":", 1)[1]), rec.rule,
                        str(rec.details.get("cause", "")))
        preservation = self._preservation()
        for post_id in posts:  # each copy's media served again, its own entries disabled
            if preservation is not None:  # its removal moved the media to preservation
                await preservation.restore("post", str(post_id))
            await takedowns.reinstate_media(post_id)
            await self.posts.set_state(post_id, VISIBLE)
        async with self.db.write() as conn:
            await svc.audit(conn, f"case:{case_id}", "undo_removal", "appeal_reversed",
                            f"case:{case_id}", entry_ids=sorted(ours), posts=posts,
                            strikes=strikes)
        return {"entries": len(ours), "posts": len(posts), "strikes": strikes}


def _entry_ids(details: Mapping[str, Any]) -> set[int]:
    """The bank entries an audit record says caused it (none if it names none)."""
    raw = details.get("entry_ids")
    return {int(e) for e in raw if isinstance(e, int)} if isinstance(raw, list) else set()

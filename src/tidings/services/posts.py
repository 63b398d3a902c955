"""Channel posts: publish, edit, delete, forward, pin, count views, read, catch up.

One direction, as DESIGN.md draws it: validate -> moderation gate -> one write
transaction (post row, media references, search entry, update-log row with the
channel's next sequence number) -> after commit, one bus message on the channel's
topic. The frame is serialised once per post, whatever the number of subscribers;
connections forward the same string. Held content is stored but never logged or
fanned out; rejected content is never stored.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

from tidings.bus.base import Bus
from tidings.moderation.engine import Actor, Decision, Surface
from tidings.moderation.rules import resemblance_rules
from tidings.moderation.visibility import (
    Audience,
    PostState,
    Shown,
    channel_state,
    listed_states,
    post_view,
    public_posts_listed,
)
from tidings.protocol import limits
from tidings.protocol.errors import BadRequest, Conflict, NotFound
from tidings.protocol.handles import clean_text
from tidings.services.accounts import Principal
from tidings.services.channel_access import post_json, reader, require, state_of
from tidings.services.channels import ChannelService, ChannelView, preserve_before_delete
from tidings.services.clock import Clock
from tidings.services.media import MediaService
from tidings.services.moderation import (
    HELD,
    REMOVED,
    VISIBLE,
    ModerationService,
    gate_decision,
    text_contents,
)
from tidings.services.post_states import Announcement, PostStates
from tidings.services.returning import RETURNING_FLAG
from tidings.services.streams import dumps
from tidings.storage.channels import ChannelRecord, ChannelStore, PostRecord
from tidings.storage.database import Database
from tidings.storage.plan import Plan
from tidings.storage.search import SearchIndex

HoldHook = Callable[[ChannelRecord, PostRecord, Decision], Awaitable[None]]
"""Called after a post is stored as held, so review opens (or joins) a case about it."""


def clean_post_text(text: str) -> str:
    return clean_text(text, limits.POST_TEXT_MAX, "text")


class PostService:
    def __init__(self, db: Database, store: ChannelStore, search: SearchIndex,
                 channels: ChannelService, media: MediaService,
                 moderation: ModerationService, bus: Bus, clock: Clock,
                 on_hold: HoldHook | None = None) -> None:
        self.db = db
        self.store = store
        self.search_index = search
        self.channels = channels
        self.media = media
        self.moderation = moderation
        self.bus = bus
        self.clock = clock
        self.states = PostStates(store, search, bus)
        self.on_hold = on_hold
        """Told of each held post (the reports service opens its case)."""

    async def _content(self, surface: Surface, text: str, media_ids: Sequence[str],
                       actor: Actor | None = None, keep: Sequence[str] = (),
                       channel: ChannelRecord | None = None
                       ) -> tuple[str, list[dict[str, Any]], str, Decision]:
        text = clean_post_text(text)
        if len(media_ids) > limits.POST_MEDIA_MAX:
            raise BadRequest(f"at most {limits.POST_MEDIA_MAX} media items per post",
                             "too_many_media")
        # Only the author's own uploads, or media already public; signals from upload.
        descriptors, signals = await self.media.resolve(
            media_ids, owner=actor.user_id if actor else None, keep=keep)
        if not text and not descriptors:
            raise BadRequest("a post needs text or media", "empty_post")
        returning = self.channels.returning
        if channel is not None and actor is not None and returning is not None:
            # A post advertising a banned channel, or a young channel's first posts that
            # make it resemble one, meet the rules' resembles_banned_channel (issue 24).
            found = await returning.post_resemblance(channel, text, signals)
            if found is not None:
                actor = replace(actor, resemblance=found,
                                flags=actor.flags | {RETURNING_FLAG})
        state, decision = await gate_decision(self.moderation, surface,
                                              text_contents(text), actor, signals)
        return text, descriptors, state, decision

    async def _insert(self, channel: ChannelRecord, who: Principal, text: str,
                      descriptors: list[dict[str, Any]], state: str,
                      forwarded_from: dict[str, Any] | None, decision: Decision
                      ) -> dict[str, Any]:
        def plan() -> Plan[tuple[PostRecord, Announcement | None]]:
            post = yield from self.store.insert_post_plan(
                [d["sha256"] for d in descriptors], self.db.dialect, channel_id=channel.id,
                author_id=who.user_id, text=text, media=dumps(descriptors),
                forwarded_from=dumps(forwarded_from) if forwarded_from else None,
                state=state, created_at=self.clock())
            news = yield from self.states.changed_plan(channel, None, post, post.created_at,
                                                       self.db.dialect)
            return post, news

        # One write transaction; on SQLite one thread hop, not one per statement.
        post, news = await self.db.write_plan(plan())
        await self.states.announce(news)
        if state == HELD and self.on_hold is not None:
            await self.on_hold(channel, post, decision)
        if state == HELD:
            await self._hold_young_channel(channel, post, decision)
        return post_json(post, channel, Audience.AUTHOR)

    async def _hold_young_channel(self, channel: ChannelRecord, post: PostRecord,
                                  decision: Decision) -> None:
        """A channel in its first days whose post made it resemble a banned one (the
        resemblance rule fired) is held whole, not only the post (issue 24): its first
        posts count toward the channel's score. An established channel's post is held
        alone (it only advertises)."""
        returning = self.channels.returning
        found = decision.actor.resemblance if decision.actor else None
        fired = frozenset(decision.outcome.fired if decision.outcome else ())
        if (returning is not None and found is not None
                and fired & resemblance_rules(self.moderation.ruleset)):
            await returning.hold_young_channel(channel, found, post.id)

    async def publish(self, who: Principal, handle: str, text: str,
                      media_ids: Sequence[str] = ()) -> dict[str, Any]:
        view = await self.channels.view(handle, who)
        require(view.perms.post, "post")
        text, descriptors, state, decision = await self._content(
            Surface.POST, text, media_ids, Actor(who.user_id, view.channel.id),
            channel=view.channel)
        return await self._insert(view.channel, who, text, descriptors, state, None, decision)

    async def forward(self, who: Principal, handle: str, number: int, to: str
                      ) -> dict[str, Any]:
        """Repost into another channel, naming where it came from. Only a visible post:
        a removed, deleted or held one cannot travel by forward (409)."""
        source_view, source = await self._readable_post(who, handle, number)
        _refuse_unless_visible(source, "forwarded")
        target = await self.channels.view(to, who)
        require(target.perms.post, "post")
        media_ids = [m["sha256"] for m in json.loads(source.media)]
        text, descriptors, state, decision = await self._content(
            Surface.FORWARD, source.text, media_ids, Actor(who.user_id, target.channel.id),
            channel=target.channel)
        origin = {"channel": source_view.channel.handle, "title": source_view.channel.title,
                  "number": source.number}
        return await self._insert(target.channel, who, text, descriptors, state, origin,
                                  decision)

    async def _post(self, channel: ChannelRecord, number: int) -> PostRecord:
        """The channel's post with this per-channel number (the public name of a post)."""
        async with self.db.read() as conn:
            post = await self.store.post_by_number(conn, channel.id, number)
        if post is None:
            raise NotFound("no such post", "post_not_found")
        return post

    async def _readable_post(self, who: Principal | None, handle: str, number: int,
                             invite: str | None = None) -> tuple[ChannelView, PostRecord]:
        """The post, unless the visibility rule hides it from ``who`` (404)."""
        view = await self.channels.view(handle, who, invite)
        post = await self._post(view.channel, number)
        if post_view(state_of(post), reader(post, view.perms, who)).shown is Shown.HIDDEN:
            raise NotFound("no such post", "post_not_found")
        return view, post

    async def get(self, who: Principal | None, handle: str, number: int,
                  invite: str | None = None) -> dict[str, Any]:
        view, post = await self._readable_post(who, handle, number, invite)
        audience = reader(post, view.perms, who)
        notice = None
        if post_view(state_of(post), audience).notice:
            async with self.db.read() as conn:
                notice = await self.store.post_notice(conn, post.id)
        return post_json(post, view.channel, audience, notice)

    async def _editable(self, who: Principal, handle: str, number: int
                        ) -> tuple[ChannelView, PostRecord]:
        view = await self.channels.view(handle, who)
        post = await self._post(view.channel, number)
        if post.deleted_at is not None:
            raise NotFound("this post was deleted", "post_not_found")
        own = post.author_id == who.user_id and view.perms.post
        require(own or view.perms.edit_others, "change this post")
        return view, post

    async def edit(self, who: Principal, handle: str, number: int, text: str | None,
                   media_ids: Sequence[str] | None = None) -> dict[str, Any]:
        """Change a visible post. A removed or held post cannot be edited: only the review
        and appeal paths change it (else an edit would undo a moderator's removal)."""
        view, post = await self._editable(who, handle, number)
        _refuse_unless_visible(post, "edited")
        if text is None:
            text = post.text
        current = [m["sha256"] for m in json.loads(post.media)]
        if media_ids is None:
            media_ids = current
        text, descriptors, state, decision = await self._content(
            Surface.EDIT, text, media_ids, Actor(who.user_id, view.channel.id), current,
            view.channel)
        async with self.db.write() as conn:
            fresh = await self.store.post(conn, post.id)
            assert fresh is not None
            _refuse_unless_visible(fresh, "edited")  # a removal that landed meanwhile
            updated = await self.store.update_post(
                conn, post.id, text=text, media=dumps(descriptors), state=state,
                edited_at=self.clock())
            await self.store.set_post_media(conn, post.id, [d["sha256"] for d in descriptors])
            news = await self.states.changed(conn, view.channel, fresh, updated,
                                             self.clock())
        await self.states.announce(news)
        if state == HELD and self.on_hold is not None:
            await self.on_hold(view.channel, updated, decision)
        return post_json(updated, view.channel, reader(updated, view.perms, who))

    async def set_state(self, post_id: int, state: str) -> tuple[ChannelRecord, PostRecord]:
        """A moderator's change of a post's state (visible, held, removed): the review and
        appeal paths only. Text and media are kept, so a reversed removal shows exactly
        what was there. Returns the channel and the post as it was before."""
        if state not in (VISIBLE, HELD, REMOVED):
            raise BadRequest(f"unknown post state {state}", "bad_state")
        news = None
        async with self.db.write() as conn:
            before = await self.store.post(conn, post_id)
            if before is None:
                raise NotFound("no such post", "post_not_found")
            channel = await self.store.by_id(conn, before.channel_id)
            if channel is None:
                raise NotFound("no such channel", "channel_not_found")
            if before.state != state and before.deleted_at is None:
                updated = await self.store.update_post(conn, post_id, state=state)
                news = await self.states.changed(conn, channel, before, updated, self.clock())
        await self.states.announce(news)
        return channel, before

    async def delete(self, who: Principal, handle: str, number: int) -> None:
        """The author's delete wipes text and media; a post a review case is about (or a
        held or removed one) is preserved first, so the case can still be decided. Its
        number stays taken: the channel's counter never goes back."""
        view, post = await self._editable(who, handle, number)
        async with self.db.read() as conn:
            keep = await self.store.under_review(conn, view.channel.id, [post.id])
        if keep or post.state != VISIBLE:
            await preserve_before_delete(self.channels.preserve, [post.id])
        async with self.db.write() as conn:
            updated = await self.store.update_post(conn, post.id, text="", media="[]",
                                                   deleted_at=self.clock())
            await self.store.set_post_media(conn, post.id, [])
            news = await self.states.changed(conn, view.channel, post, updated, self.clock())
        await self.states.announce(news)

    async def pin(self, who: Principal, handle: str, number: int | None) -> None:
        view = await self.channels.view(handle, who)
        require(view.perms.edit_others, "pin posts")
        post = None
        if number is not None:
            post = await self._post(view.channel, number)
            if post_view(state_of(post), Audience.PUBLIC).shown is not Shown.FULL:
                raise BadRequest("only a visible post can be pinned", "cannot_pin")
        async with self.db.write() as conn:
            await self.store.update(conn, view.channel.id,
                                    pinned_post_id=post.id if post else None,
                                    pinned_number=post.number if post else None)

    async def history(self, who: Principal | None, handle: str, *, before: int | None = None,
                      start: int | None = None, limit: int = limits.CHANNEL_PAGE_DEFAULT,
                      invite: str | None = None) -> tuple[ChannelView, list[dict[str, Any]]]:
        """Newest first; pass the last number as ``before`` for the next page. Lists what the
        visibility table lists for this reader (held posts for admins and their authors)."""
        view = await self.channels.view(handle, who, invite)
        limit = max(1, min(limit, limits.CHANNEL_PAGE_MAX))
        staff = bool(who and who.is_staff)
        others = (Audience.STAFF if staff else Audience.ADMIN if view.perms.admin
                  else Audience.PUBLIC)
        own = Audience.STAFF if staff else Audience.AUTHOR
        async with self.db.read() as conn:
            posts = await self.store.history(
                conn, view.channel.id, before=before, start=start, limit=limit,
                states=listed_states(others), author_id=who.user_id if who else None,
                own_states=listed_states(own))
        return view, [post_json(p, view.channel, reader(p, view.perms, who)) for p in posts]

    async def updates(self, who: Principal | None, handle: str, since: int,
                      limit: int = limits.CHANNEL_PAGE_MAX, invite: str | None = None
                      ) -> dict[str, Any]:
        """The log of what changed, each post rendered as it is now for this reader: a
        removed or deleted post is a tombstone in every entry about it, an edited post
        shows only its current text."""
        view = await self.channels.view(handle, who, invite)
        limit = max(1, min(limit, limits.CHANNEL_PAGE_MAX))
        async with self.db.read() as conn:
            rows = await self.store.updates(conn, view.channel.id, since, limit)
            found = {p.id: p for p in await self.store.posts_by_ids(
                conn, list({u.post_id for u in rows}))}
        out = []
        for u in rows:
            post = found.get(u.post_id)
            body = ({"channel": view.channel.handle,
                     "state": str(PostState.DELETED)} if post is None else
                    post_json(post, view.channel, reader(post, view.perms, who)))
            out.append({"seq": u.seq, "kind": u.kind, "post": body, "ts": u.created_at})
        return {"channel": view.channel.handle, "head": view.channel.update_seq,
                "updates": out}

    async def record_views(self, who: Principal, handle: str, numbers: Sequence[int]
                           ) -> dict[str, int]:
        """Views by post number: ``{"<number>": views}`` for the visible ones."""
        if len(numbers) > limits.VIEWS_BATCH_MAX:
            raise BadRequest(f"at most {limits.VIEWS_BATCH_MAX} posts at once", "too_many")
        view = await self.channels.view(handle, who)
        async with self.db.write() as conn:
            posts = [p for p in await self.store.posts_by_numbers(conn, view.channel.id,
                                                                  numbers)
                     if post_view(state_of(p), Audience.PUBLIC).shown is Shown.FULL]
            await self.store.record_views(conn, who.user_id, [p.id for p in posts])
            fresh = await self.store.posts_by_ids(conn, [p.id for p in posts])
        return {str(p.number): p.views for p in fresh}

    async def search(self, query: str, limit: int) -> list[dict[str, Any]]:
        """Public posts only: listed for the public, in a channel the public may open."""
        limit = max(1, min(limit, limits.SEARCH_RESULTS_MAX))
        async with self.db.read() as conn:
            ids = await self.search_index.posts(conn, query, limit)
            posts = {p.id: p for p in await self.store.posts_by_ids(conn, ids)}
            chans = {c.id: c for c in await self.store.by_ids(
                conn, list({p.channel_id for p in posts.values()}))}
        out = []
        for i in ids:
            post = posts.get(i)
            chan = chans.get(post.channel_id) if post is not None else None
            if (post is None or chan is None or chan.visibility != "public"
                    or not public_posts_listed(channel_state(chan.state))
                    or not post_view(state_of(post), Audience.PUBLIC).listed):
                continue
            out.append(post_json(post, chan))
        return out


_REFUSALS = {
    PostState.REMOVED: ("this post was removed by moderation; it can only change through "
                        "the review or an appeal", "post_removed"),
    PostState.HELD: ("this post is waiting for review; it can only change through the "
                     "review", "post_held"),
    PostState.DELETED: ("this post was deleted", "post_deleted"),
}


def _refuse_unless_visible(post: PostRecord, what: str) -> None:
    """409 for a post that is not visible: it may not be edited, forwarded, re-posted."""
    state = state_of(post)
    if state is PostState.VISIBLE:
        return
    message, code = _REFUSALS[state]
    raise Conflict(f"{message} (it cannot be {what})", code)

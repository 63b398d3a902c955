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
from typing import Any

from tidings.bus.base import Bus
from tidings.protocol import limits
from tidings.protocol.control import Frame, compact, splice
from tidings.protocol.errors import BadRequest, NotFound
from tidings.protocol.handles import clean_text
from tidings.services.accounts import Principal
from tidings.services.channel_access import post_json, require
from tidings.services.channels import ChannelService, ChannelView
from tidings.services.clock import Clock
from tidings.services.gate import HELD, REMOVED, VISIBLE, gate_decision, text_contents
from tidings.services.live import to_channel
from tidings.services.media import MediaService
from tidings.services.moderation import Actor, Decision, ModerationService, Surface
from tidings.services.streams import dumps
from tidings.storage.channels import ChannelRecord, ChannelStore, PostRecord
from tidings.storage.database import Database
from tidings.storage.search import SearchIndex


def channel_frame(handle: str, seq: int, kind: str, post_body: str) -> str:
    """The live frame subscribers get; ``post_body`` is already serialised JSON."""
    return splice(compact({"type": "channel", "channel": handle, "seq": seq, "kind": kind}),
                  {"post": post_body})


HoldHook = Callable[[ChannelRecord, PostRecord, Decision], Awaitable[None]]
"""Called after a post is stored as held, so review opens (or joins) a case about it."""


def clean_post_text(text: str) -> str:
    return clean_text(text, limits.POST_TEXT_MAX, "text")


class PostService:
    def __init__(self, db: Database, store: ChannelStore, search: SearchIndex,
                 channels: ChannelService, media: MediaService,
                 moderation: ModerationService, bus: Bus, clock: Clock) -> None:
        self.db = db
        self.store = store
        self.search_index = search
        self.channels = channels
        self.media = media
        self.moderation = moderation
        self.bus = bus
        self.clock = clock
        self.on_hold: HoldHook | None = None

    async def _content(self, surface: Surface, text: str, media_ids: Sequence[str],
                       actor: Actor | None = None
                       ) -> tuple[str, list[dict[str, Any]], str, Decision]:
        text = clean_post_text(text)
        if len(media_ids) > limits.POST_MEDIA_MAX:
            raise BadRequest(f"at most {limits.POST_MEDIA_MAX} media items per post",
                             "too_many_media")
        descriptors, contents = await self.media.resolve(media_ids)
        if not text and not descriptors:
            raise BadRequest("a post needs text or media", "empty_post")
        state, decision = await gate_decision(self.moderation, surface,
                                              [*text_contents(text), *contents], actor)
        return text, descriptors, state, decision

    async def _announce(self, channel: ChannelRecord, seq: int, kind: str, body: str) -> None:
        await to_channel(self.bus, channel.id, Frame(channel_frame(channel.handle, seq, kind,
                                                                   body)))

    async def _insert(self, channel: ChannelRecord, who: Principal, text: str,
                      descriptors: list[dict[str, Any]], state: str,
                      forwarded_from: dict[str, Any] | None, decision: Decision
                      ) -> dict[str, Any]:
        seq = 0
        async with self.db.write() as conn:
            post = await self.store.insert_post(
                conn, [d["sha256"] for d in descriptors], channel_id=channel.id,
                author_id=who.user_id, text=text, media=dumps(descriptors),
                forwarded_from=dumps(forwarded_from) if forwarded_from else None,
                state=state, created_at=self.clock())
            body = post_json(post, channel)
            if state == VISIBLE:
                await self.search_index.index_post(conn, post.id, text)
                seq = await self.store.append_update(conn, channel.id, "post", post.id,
                                                     dumps(body), post.created_at)
        if seq:
            await self._announce(channel, seq, "post", dumps(body))
        if state == HELD and self.on_hold is not None:
            await self.on_hold(channel, post, decision)
        return body

    async def publish(self, who: Principal, handle: str, text: str,
                      media_ids: Sequence[str] = ()) -> dict[str, Any]:
        view = await self.channels.view(handle, who)
        require(view.perms.post, "post")
        text, descriptors, state, decision = await self._content(
            Surface.POST, text, media_ids, Actor(who.user_id, view.channel.id))
        return await self._insert(view.channel, who, text, descriptors, state, None, decision)

    async def forward(self, who: Principal, handle: str, post_id: int, to: str
                      ) -> dict[str, Any]:
        """Repost into another channel, naming where it came from."""
        source_view, source = await self._readable_post(who, handle, post_id)
        if source.deleted_at is not None or source.state != VISIBLE:
            raise NotFound("this post cannot be forwarded", "post_not_found")
        target = await self.channels.view(to, who)
        require(target.perms.post, "post")
        media_ids = [m["sha256"] for m in json.loads(source.media)]
        text, descriptors, state, decision = await self._content(
            Surface.FORWARD, source.text, media_ids, Actor(who.user_id, target.channel.id))
        origin = {"channel": source_view.channel.handle, "title": source_view.channel.title,
                  "post_id": source.id}
        return await self._insert(target.channel, who, text, descriptors, state, origin,
                                  decision)

    async def _post(self, channel: ChannelRecord, post_id: int) -> PostRecord:
        async with self.db.read() as conn:
            post = await self.store.post(conn, post_id)
        if post is None or post.channel_id != channel.id:
            raise NotFound("no such post", "post_not_found")
        return post

    async def _readable_post(self, who: Principal | None, handle: str, post_id: int,
                             invite: str | None = None) -> tuple[ChannelView, PostRecord]:
        view = await self.channels.view(handle, who, invite)
        post = await self._post(view.channel, post_id)
        if post.state == HELD and not view.perms.admin:
            raise NotFound("no such post", "post_not_found")
        return view, post

    async def get(self, who: Principal | None, handle: str, post_id: int,
                  invite: str | None = None) -> dict[str, Any]:
        view, post = await self._readable_post(who, handle, post_id, invite)
        return post_json(post, view.channel)

    async def _editable(self, who: Principal, handle: str, post_id: int
                        ) -> tuple[ChannelView, PostRecord]:
        view = await self.channels.view(handle, who)
        post = await self._post(view.channel, post_id)
        if post.deleted_at is not None:
            raise NotFound("this post was deleted", "post_not_found")
        own = post.author_id == who.user_id and view.perms.post
        require(own or view.perms.edit_others, "change this post")
        return view, post

    async def edit(self, who: Principal, handle: str, post_id: int, text: str | None,
                   media_ids: Sequence[str] | None = None) -> dict[str, Any]:
        view, post = await self._editable(who, handle, post_id)
        if text is None:
            text = post.text
        if media_ids is None:
            media_ids = [m["sha256"] for m in json.loads(post.media)]
        text, descriptors, state, decision = await self._content(
            Surface.EDIT, text, media_ids, Actor(who.user_id, view.channel.id))
        seq = 0
        async with self.db.write() as conn:
            updated = await self.store.update_post(
                conn, post.id, text=text, media=dumps(descriptors), state=state,
                edited_at=self.clock())
            await self.store.set_post_media(conn, post.id, [d["sha256"] for d in descriptors])
            body = post_json(updated, view.channel)
            was_visible = post.state == VISIBLE
            if state == VISIBLE:
                await self.search_index.index_post(conn, post.id, text)
            else:
                await self.search_index.unindex_post(conn, post.id)
            if state == VISIBLE or was_visible:  # a held edit hides the post from readers
                kind = "edit" if state == VISIBLE else "delete"
                logged = body if state == VISIBLE else {"id": post.id,
                                                        "channel": view.channel.handle}
                seq = await self.store.append_update(conn, view.channel.id, kind, post.id,
                                                     dumps(logged), self.clock())
        if seq:
            await self._announce(view.channel, seq, kind, dumps(logged))
        if state == HELD and self.on_hold is not None:
            await self.on_hold(view.channel, updated, decision)
        return body

    async def set_state(self, post_id: int, state: str) -> tuple[ChannelRecord, PostRecord]:
        """A moderator's change of a post's state (visible, held, removed); text and media
        are kept, so a reversed removal shows exactly what was there. Readers see the
        change through the channel's update log. Returns the post as it was before."""
        if state not in (VISIBLE, HELD, REMOVED):
            raise BadRequest(f"unknown post state {state}", "bad_state")
        seq, kind, logged = 0, "", ""
        async with self.db.write() as conn:
            before = await self.store.post(conn, post_id)
            if before is None:
                raise NotFound("no such post", "post_not_found")
            channel = await self.store.by_id(conn, before.channel_id)
            if channel is None:
                raise NotFound("no such channel", "channel_not_found")
            if before.state != state and before.deleted_at is None:
                updated = await self.store.update_post(conn, post_id, state=state)
                if state == VISIBLE:
                    await self.search_index.index_post(conn, post_id, updated.text)
                    kind, logged = "post", dumps(post_json(updated, channel))
                else:
                    await self.search_index.unindex_post(conn, post_id)
                    kind, logged = "delete", dumps({"id": post_id, "channel": channel.handle})
                if state == VISIBLE or before.state == VISIBLE:
                    seq = await self.store.append_update(conn, channel.id, kind, post_id,
                                                         logged, self.clock())
        if seq:
            await self._announce(channel, seq, kind, logged)
        return channel, before

    async def delete(self, who: Principal, handle: str, post_id: int) -> None:
        view, post = await self._editable(who, handle, post_id)
        body = {"id": post.id, "channel": view.channel.handle}
        seq = 0
        async with self.db.write() as conn:
            await self.store.update_post(conn, post.id, text="", media="[]",
                                         deleted_at=self.clock())
            await self.store.set_post_media(conn, post.id, [])
            await self.search_index.unindex_post(conn, post.id)
            if view.channel.pinned_post_id == post.id:
                await self.store.update(conn, view.channel.id, pinned_post_id=None)
            if post.state == VISIBLE:
                seq = await self.store.append_update(conn, view.channel.id, "delete", post.id,
                                                     dumps(body), self.clock())
        if seq:
            await self._announce(view.channel, seq, "delete", dumps(body))

    async def pin(self, who: Principal, handle: str, post_id: int | None) -> None:
        view = await self.channels.view(handle, who)
        require(view.perms.edit_others, "pin posts")
        if post_id is not None:
            post = await self._post(view.channel, post_id)
            if post.deleted_at is not None or post.state != VISIBLE:
                raise BadRequest("only a visible post can be pinned", "cannot_pin")
        async with self.db.write() as conn:
            await self.store.update(conn, view.channel.id, pinned_post_id=post_id)

    async def history(self, who: Principal | None, handle: str, *, before: int | None = None,
                      start: int | None = None, limit: int = limits.CHANNEL_PAGE_DEFAULT,
                      invite: str | None = None) -> tuple[ChannelView, list[dict[str, Any]]]:
        """Newest first; pass the last id as ``before`` for the next page."""
        view = await self.channels.view(handle, who, invite)
        limit = max(1, min(limit, limits.CHANNEL_PAGE_MAX))
        states = ("visible", "held") if view.perms.admin else ("visible",)
        async with self.db.read() as conn:
            posts = await self.store.history(conn, view.channel.id, before=before, start=start,
                                             limit=limit, states=states)
        return view, [post_json(p, view.channel) for p in posts]

    async def updates(self, who: Principal | None, handle: str, since: int,
                      limit: int = limits.CHANNEL_PAGE_MAX, invite: str | None = None
                      ) -> dict[str, Any]:
        view = await self.channels.view(handle, who, invite)
        limit = max(1, min(limit, limits.CHANNEL_PAGE_MAX))
        async with self.db.read() as conn:
            rows = await self.store.updates(conn, view.channel.id, since, limit)
        return {"channel": view.channel.handle, "head": view.channel.update_seq,
                "updates": [{"seq": u.seq, "kind": u.kind, "post": json.loads(u.body),
                             "ts": u.created_at} for u in rows]}

    async def record_views(self, who: Principal, handle: str, post_ids: Sequence[int]
                           ) -> dict[str, int]:
        if len(post_ids) > limits.VIEWS_BATCH_MAX:
            raise BadRequest(f"at most {limits.VIEWS_BATCH_MAX} posts at once", "too_many")
        view = await self.channels.view(handle, who)
        async with self.db.write() as conn:
            posts = [p for p in await self.store.posts_by_ids(conn, post_ids)
                     if p.channel_id == view.channel.id and p.state == VISIBLE]
            await self.store.record_views(conn, who.user_id, [p.id for p in posts])
            fresh = await self.store.posts_by_ids(conn, [p.id for p in posts])
        return {str(p.id): p.views for p in fresh}

    async def search(self, query: str, limit: int) -> list[dict[str, Any]]:
        limit = max(1, min(limit, limits.SEARCH_RESULTS_MAX))
        async with self.db.read() as conn:
            ids = await self.search_index.posts(conn, query, limit)
            posts = {p.id: p for p in await self.store.posts_by_ids(conn, ids)}
            chans = {c.id: c for c in await self.store.by_ids(
                conn, list({p.channel_id for p in posts.values()}))}
        return [post_json(posts[i], chans[posts[i].channel_id]) for i in ids
                if i in posts and posts[i].channel_id in chans
                and posts[i].state == VISIBLE and chans[posts[i].channel_id].state == VISIBLE]

"""SQL store of channels, admins, subscriptions, posts, views and the update log.

Every method takes the caller's connection, so a service composes several of them
into one transaction (a post, its media references, its search entry and its update
log row commit together or not at all).

Each channel numbers its own updates: :meth:`append_update` takes the channel row's
counter with ``UPDATE ... RETURNING`` inside the writer's transaction, exactly like
device streams, so two concurrent posters serialise on that row and commit in
sequence order; a subscriber that has seen ``seq = n`` never later finds ``n - 1``.
There are no per-subscriber rows: a post costs O(1) writes however many follow.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.protocol.errors import Conflict
from tidings.storage.action_schema import statements_of_reasons
from tidings.storage.channel_schema import (
    channel_admins,
    channel_posts,
    channel_subscriptions,
    channel_updates,
    channels,
    post_media,
    post_views,
)
from tidings.storage.plan import Plan, Raw, marks, run_async
from tidings.storage.report_schema import review_cases
from tidings.storage.schema import users


@dataclass(frozen=True, slots=True)
class ChannelRecord:
    id: int
    handle: str
    handle_key: str
    title: str
    title_key: str
    description: str
    avatar_sha256: str | None
    visibility: str
    invite_token: str | None
    owner_id: int
    state: str
    subscriber_count: int
    update_seq: int
    pinned_post_id: int | None
    created_at: int
    last_post_number: int
    pinned_number: int | None


@dataclass(frozen=True, slots=True)
class AdminRecord:
    user_id: int
    username: str
    can_post: bool
    can_edit_others: bool
    can_manage_admins: bool


@dataclass(frozen=True, slots=True)
class PostRecord:
    id: int
    channel_id: int
    author_id: int | None
    text: str
    media: str
    """JSON list of media descriptors, serialised once when stored."""
    forwarded_from: str | None
    state: str
    views: int
    created_at: int
    edited_at: int | None
    deleted_at: int | None
    number: int
    """1, 2, 3, ... within the channel: what public URLs, the API's paths and the CLI
    name (``id`` stays internal to moderation)."""


@dataclass(frozen=True, slots=True)
class UpdateRecord:
    seq: int
    kind: str
    post_id: int
    body: str
    created_at: int


OPEN_CASE_STATES = ("open", "escalated", "claimed", "appealed", "appeal_claimed")
"""Review case states in which a case still waits for (or is getting) a decision."""

_CH_COLS = [channels.c[f.name] for f in fields(ChannelRecord)]
_POST_COLS = [channel_posts.c[f.name] for f in fields(PostRecord)]
_POST_NAMES = [f.name for f in fields(PostRecord)]
# A new post's statements as SQLite text (storage/plan.py, Raw), same as the Core ones.
_LITE_NEXT_NUMBER = ("UPDATE channels SET last_post_number = last_post_number + 1 "
                     "WHERE id = ? RETURNING last_post_number")
_LITE_ADD_POST = ("INSERT INTO channel_posts ({names}) VALUES ({marks}) "  # noqa: S608
                  f"RETURNING {', '.join(_POST_NAMES)}")
_LITE_ADD_POST_MEDIA = "INSERT INTO post_media (post_id, sha256) VALUES (?, ?)"
_LITE_NEXT_UPDATE = ("UPDATE channels SET update_seq = update_seq + 1 WHERE id = ? "
                     "RETURNING update_seq")
_LITE_ADD_UPDATE = ("INSERT INTO channel_updates (channel_id, seq, kind, post_id, body, "
                    "created_at) VALUES (?, ?, ?, ?, ?, ?)")
# The channel view's reads as SQLite text (storage/plan.py, Raw), same as the Core ones.
_LITE_BY_HANDLE = (f"SELECT {', '.join(f.name for f in fields(ChannelRecord))} "  # noqa: S608
                   "FROM channels WHERE handle = ?")
_LITE_ADMIN = ("SELECT a.user_id, u.username, a.can_post, a.can_edit_others, "
               "a.can_manage_admins FROM channel_admins a JOIN users u ON u.id = a.user_id "
               "WHERE a.channel_id = ? AND a.user_id = ?")
_LITE_SUBSCRIBED = ("SELECT user_id FROM channel_subscriptions WHERE channel_id = ? "
                    "AND user_id = ?")


def _insert(conn: AsyncConnection, table: sa.Table) -> Any:
    """INSERT with ON CONFLICT support for whichever engine we are on."""
    return _insert_for(conn.dialect.name, table)


def _insert_for(dialect: str, table: sa.Table) -> Any:
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


class ChannelStore:
    # --- channels -------------------------------------------------------------------
    async def create(self, conn: AsyncConnection, **values: Any) -> ChannelRecord:
        try:
            async with conn.begin_nested():
                row = (await conn.execute(
                    channels.insert().values(**values).returning(*_CH_COLS))).one()
        except IntegrityError as exc:
            taken = await self.by_handle(conn, values["handle"])
            if taken is not None:
                raise Conflict(f"the handle {values['handle']!r} is taken",
                               "handle_taken") from exc
            raise Conflict("this handle looks like the handle of another channel",
                           "handle_confusable") from exc
        return ChannelRecord(*row)

    async def by_handle(self, conn: AsyncConnection, handle: str) -> ChannelRecord | None:
        return await run_async(conn, self.by_handle_plan(handle))

    def by_handle_plan(self, handle: str, dialect: str = "") -> Plan[ChannelRecord | None]:
        if dialect == "sqlite":  # every channel request: prepared text (plan.Raw)
            rows = yield Raw(_LITE_BY_HANDLE, (handle,))
            return ChannelRecord(*rows[0]) if rows else None
        row = (yield sa.select(*_CH_COLS).where(channels.c.handle == handle)).first()
        return ChannelRecord(*row) if row else None

    async def by_id(self, conn: AsyncConnection, channel_id: int) -> ChannelRecord | None:
        return await run_async(conn, self.by_id_plan(channel_id))

    def by_id_plan(self, channel_id: int) -> Plan[ChannelRecord | None]:
        row = (yield sa.select(*_CH_COLS).where(channels.c.id == channel_id)).first()
        return ChannelRecord(*row) if row else None

    async def by_ids(self, conn: AsyncConnection, ids: Sequence[int]) -> list[ChannelRecord]:
        if not ids:
            return []
        rows = await conn.execute(sa.select(*_CH_COLS).where(channels.c.id.in_(list(ids))))
        return [ChannelRecord(*r) for r in rows]

    async def key_owner(self, conn: AsyncConnection, key: str,
                        exclude_id: int | None = None) -> str | None:
        """The handle of a channel whose handle or title has this lookalike key."""
        query = sa.select(channels.c.handle).where(
            sa.or_(channels.c.handle_key == key, channels.c.title_key == key))
        if exclude_id is not None:
            query = query.where(channels.c.id != exclude_id)
        row = (await conn.execute(query.limit(1))).first()
        return str(row[0]) if row else None

    async def update(self, conn: AsyncConnection, channel_id: int, **values: Any) -> None:
        await run_async(conn, self.update_plan(channel_id, **values))

    def update_plan(self, channel_id: int, **values: Any) -> Plan[None]:
        yield channels.update().where(channels.c.id == channel_id).values(**values)

    async def soft_delete(self, conn: AsyncConnection, channel_id: int, now: int) -> None:
        """An owner's deletion: the row stays, so a case, an order or an audit record that
        names ``channel:ID`` (or one of its posts) keeps meaning this channel. Its handle
        and lookalike keys are freed (``deleted.ID`` cannot be a handle), its posts are
        deleted (text and media dropped, ids kept), its followers let go."""
        tomb = f"deleted.{channel_id}"
        p = channel_posts
        select_ids = sa.select(p.c.id).where(p.c.channel_id == channel_id)
        await conn.execute(post_media.delete().where(post_media.c.post_id.in_(select_ids)))
        await conn.execute(p.update().where(p.c.channel_id == channel_id,
                                            p.c.deleted_at.is_(None))
                           .values(text="", media="[]", deleted_at=now))
        await conn.execute(channel_subscriptions.delete().where(
            channel_subscriptions.c.channel_id == channel_id))
        await conn.execute(channels.update().where(channels.c.id == channel_id).values(
            state="deleted", handle=tomb, handle_key=tomb, title_key=tomb, invite_token=None,
            pinned_post_id=None, pinned_number=None, subscriber_count=0, avatar_sha256=None))

    async def most_followed(self, conn: AsyncConnection, limit: int) -> list[ChannelRecord]:
        """Visible public channels, most subscribers first (the landing page's list)."""
        rows = await conn.execute(
            sa.select(*_CH_COLS).where(channels.c.state == "visible",
                                       channels.c.visibility == "public")
            .order_by(channels.c.subscriber_count.desc(), channels.c.id).limit(limit))
        return [ChannelRecord(*row) for row in rows]

    async def post_ids(self, conn: AsyncConnection, channel_id: int) -> list[int]:
        rows = await conn.execute(sa.select(channel_posts.c.id)
                                  .where(channel_posts.c.channel_id == channel_id))
        return [int(r[0]) for r in rows]

    async def under_review(self, conn: AsyncConnection, channel_id: int,
                           post_ids: Sequence[int]) -> set[int]:
        """Which of these posts a waiting or leased review case is about (directly, or
        through a case about their channel)."""
        c = review_cases
        rows = await conn.execute(sa.select(c.c.target_kind, c.c.target_ref).where(
            c.c.state.in_(OPEN_CASE_STATES),
            sa.or_(sa.and_(c.c.target_kind == "post",
                           c.c.target_ref.in_([str(i) for i in post_ids])),
                   sa.and_(c.c.target_kind == "channel",
                           c.c.target_ref == str(channel_id)))))
        found = {(str(r[0]), str(r[1])) for r in rows}
        if ("channel", str(channel_id)) in found:
            return set(post_ids)
        return {int(ref) for kind, ref in found if kind == "post"}

    async def owned_by(self, conn: AsyncConnection, owner_id: int) -> list[ChannelRecord]:
        """Every channel of this owner, deleted ones included (a moderator's context)."""
        rows = await conn.execute(sa.select(*_CH_COLS).where(channels.c.owner_id == owner_id)
                                  .order_by(channels.c.id).limit(101))
        return [ChannelRecord(*r) for r in rows]

    async def count_owned(self, conn: AsyncConnection, owner_id: int) -> int:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(channels)
                                       .where(channels.c.owner_id == owner_id,
                                              channels.c.state != "deleted"))).scalar_one())

    # --- admins ---------------------------------------------------------------------
    async def admin(self, conn: AsyncConnection, channel_id: int,
                    user_id: int) -> AdminRecord | None:
        return await run_async(conn, self.admin_plan(channel_id, user_id))

    def admin_plan(self, channel_id: int, user_id: int, dialect: str = ""
                   ) -> Plan[AdminRecord | None]:
        if dialect == "sqlite":
            found = yield Raw(_LITE_ADMIN, (channel_id, user_id))
            return (AdminRecord(int(found[0][0]), found[0][1], bool(found[0][2]),
                                bool(found[0][3]), bool(found[0][4])) if found else None)
        rows = yield from self._admins(channel_id, user_id)
        return rows[0] if rows else None

    async def admins(self, conn: AsyncConnection, channel_id: int) -> list[AdminRecord]:
        return await run_async(conn, self._admins(channel_id, None))

    def _admins(self, channel_id: int, user_id: int | None) -> Plan[list[AdminRecord]]:
        a = channel_admins
        query = (sa.select(a.c.user_id, users.c.username, a.c.can_post, a.c.can_edit_others,
                           a.c.can_manage_admins)
                 .select_from(a.join(users, users.c.id == a.c.user_id))
                 .where(a.c.channel_id == channel_id).order_by(users.c.username))
        if user_id is not None:
            query = query.where(a.c.user_id == user_id)
        rows = yield query
        return [AdminRecord(int(r[0]), r[1], bool(r[2]), bool(r[3]), bool(r[4])) for r in rows]

    async def set_admin(self, conn: AsyncConnection, channel_id: int, user_id: int,
                        can_post: bool, can_edit_others: bool, can_manage_admins: bool) -> None:
        values = {"can_post": can_post, "can_edit_others": can_edit_others,
                  "can_manage_admins": can_manage_admins}
        stmt = _insert(conn, channel_admins).values(channel_id=channel_id, user_id=user_id,
                                                     **values)
        await conn.execute(stmt.on_conflict_do_update(
            index_elements=["channel_id", "user_id"], set_=values))

    async def remove_admin(self, conn: AsyncConnection, channel_id: int, user_id: int) -> bool:
        result = await conn.execute(channel_admins.delete().where(
            channel_admins.c.channel_id == channel_id, channel_admins.c.user_id == user_id))
        return bool(result.rowcount)

    # --- subscriptions --------------------------------------------------------------
    async def subscribe(self, conn: AsyncConnection, channel_id: int, user_id: int,
                        now: int) -> bool:
        """Subscribe; False if already subscribed. Keeps the counter in the same tx."""
        result = await conn.execute(_insert(conn, channel_subscriptions).values(
            channel_id=channel_id, user_id=user_id, created_at=now).on_conflict_do_nothing())
        if not result.rowcount:
            return False
        await self.update(conn, channel_id,
                          subscriber_count=channels.c.subscriber_count + 1)
        return True

    async def unsubscribe(self, conn: AsyncConnection, channel_id: int, user_id: int) -> bool:
        s = channel_subscriptions
        result = await conn.execute(s.delete().where(s.c.channel_id == channel_id,
                                                     s.c.user_id == user_id))
        if not result.rowcount:
            return False
        await self.update(conn, channel_id,
                          subscriber_count=channels.c.subscriber_count - 1)
        return True

    async def is_subscribed(self, conn: AsyncConnection, channel_id: int, user_id: int) -> bool:
        return await run_async(conn, self.is_subscribed_plan(channel_id, user_id))

    def is_subscribed_plan(self, channel_id: int, user_id: int, dialect: str = ""
                           ) -> Plan[bool]:
        if dialect == "sqlite":
            return bool((yield Raw(_LITE_SUBSCRIBED, (channel_id, user_id))))
        s = channel_subscriptions
        row = (yield sa.select(s.c.user_id).where(
            s.c.channel_id == channel_id, s.c.user_id == user_id)).first()
        return row is not None

    async def subscribed_ids(self, conn: AsyncConnection, user_id: int) -> list[int]:
        s = channel_subscriptions
        rows = await conn.execute(sa.select(s.c.channel_id).where(s.c.user_id == user_id)
                                  .order_by(s.c.created_at))
        return [int(r[0]) for r in rows]

    # --- posts ----------------------------------------------------------------------
    async def insert_post(self, conn: AsyncConnection, media_ids: Sequence[str],
                          **values: Any) -> PostRecord:
        """Store a post with its channel's next number. The counter is taken with
        ``UPDATE ... RETURNING`` on the channel row inside the writer's transaction (as
        :meth:`append_update` takes the sequence): concurrent posters to one channel
        serialise on that row lock on PostgreSQL (SQLite has one writer), so numbers are
        distinct and consecutive, and a rolled-back post gives its number back."""
        return await run_async(conn, self.insert_post_plan(media_ids, **values))

    def insert_post_plan(self, media_ids: Sequence[str], dialect: str = "",
                         **values: Any) -> Plan[PostRecord]:
        """:meth:`insert_post` as a plan (``storage/plan.py``); on SQLite as prepared text
        (``values`` names columns of ``channel_posts``)."""
        if dialect == "sqlite":
            names = ["number", *values]
            if not set(names) <= set(_POST_NAMES):
                raise ValueError(f"not columns of channel_posts: {set(names) - set(_POST_NAMES)}")
            number = int((yield Raw(_LITE_NEXT_NUMBER, (values["channel_id"],)))[0][0])
            sql = _LITE_ADD_POST.format(names=", ".join(names), marks=marks(names))
            post = PostRecord(*(yield Raw(sql, (number, *values.values())))[0])
            if media_ids:  # a new post (ids are never reused) has no media rows yet
                yield Raw(_LITE_ADD_POST_MEDIA, [(post.id, s) for s in dict.fromkeys(media_ids)],
                          many=True)
            return post
        number = int((yield channels.update().where(channels.c.id == values["channel_id"])
                      .values(last_post_number=channels.c.last_post_number + 1)
                      .returning(channels.c.last_post_number)).scalar_one())
        row = (yield channel_posts.insert().values(number=number, **values)
               .returning(*_POST_COLS)).one()
        post = PostRecord(*row)
        yield from self.set_post_media_plan(post.id, media_ids)
        return post

    async def set_post_media(self, conn: AsyncConnection, post_id: int,
                             media_ids: Sequence[str]) -> None:
        await run_async(conn, self.set_post_media_plan(post_id, media_ids))

    def set_post_media_plan(self, post_id: int, media_ids: Sequence[str]) -> Plan[None]:
        yield post_media.delete().where(post_media.c.post_id == post_id)
        if media_ids:
            rows = [{"post_id": post_id, "sha256": s} for s in dict.fromkeys(media_ids)]
            yield (post_media.insert(), rows)

    async def post(self, conn: AsyncConnection, post_id: int) -> PostRecord | None:
        row = (await conn.execute(sa.select(*_POST_COLS).where(channel_posts.c.id == post_id))
               ).first()
        return PostRecord(*row) if row else None

    async def post_by_number(self, conn: AsyncConnection, channel_id: int,
                             number: int) -> PostRecord | None:
        p = channel_posts
        row = (await conn.execute(sa.select(*_POST_COLS).where(
            p.c.channel_id == channel_id, p.c.number == number))).first()
        return PostRecord(*row) if row else None

    async def posts_by_numbers(self, conn: AsyncConnection, channel_id: int,
                               numbers: Sequence[int]) -> list[PostRecord]:
        if not numbers:
            return []
        p = channel_posts
        rows = await conn.execute(sa.select(*_POST_COLS).where(
            p.c.channel_id == channel_id, p.c.number.in_(list(numbers))))
        return [PostRecord(*r) for r in rows]

    async def posts_by_ids(self, conn: AsyncConnection, ids: Sequence[int]) -> list[PostRecord]:
        if not ids:
            return []
        rows = await conn.execute(sa.select(*_POST_COLS)
                                  .where(channel_posts.c.id.in_(list(ids))))
        return [PostRecord(*r) for r in rows]

    async def update_post(self, conn: AsyncConnection, post_id: int, **values: Any) -> PostRecord:
        row = (await conn.execute(channel_posts.update().where(channel_posts.c.id == post_id)
                                  .values(**values).returning(*_POST_COLS))).one()
        return PostRecord(*row)

    async def history(self, conn: AsyncConnection, channel_id: int, *, before: int | None,
                      start: int | None, limit: int, states: Sequence[str],
                      author_id: int | None = None, own_states: Sequence[str] = ()
                      ) -> list[PostRecord]:
        """Newest first. ``before`` excludes that number (paging); ``start`` includes it.
        Posts by ``author_id`` are listed in ``own_states`` as well (their author sees
        their held posts)."""
        p = channel_posts
        shown: sa.ColumnElement[bool] = p.c.state.in_(list(states))
        if author_id is not None and own_states:
            shown = sa.or_(shown, sa.and_(p.c.author_id == author_id,
                                          p.c.state.in_(list(own_states))))
        query = sa.select(*_POST_COLS).where(p.c.channel_id == channel_id,
                                             p.c.deleted_at.is_(None), shown)
        if before is not None:
            query = query.where(p.c.number < before)
        if start is not None:
            query = query.where(p.c.number <= start)
        rows = await conn.execute(query.order_by(p.c.number.desc()).limit(limit))
        return [PostRecord(*r) for r in rows]

    async def post_notice(self, conn: AsyncConnection, post_id: int) -> dict[str, Any] | None:
        """The newest statement of reasons about a post (a staff removal, the rules, an
        order, or a review decision), as its author is shown it in a tombstone."""
        target = f"post:{post_id}"
        s = statements_of_reasons
        row = (await conn.execute(sa.select(s.c.body, s.c.created_at)
                                  .where(s.c.target == target)
                                  .order_by(s.c.id.desc()).limit(1))).first()
        c = review_cases
        case = (await conn.execute(
            sa.select(c.c.id, c.c.statement, c.c.updated_at)
            .where(c.c.target_kind == "post", c.c.target_ref == str(post_id),
                   c.c.statement.is_not(None))
            .order_by(c.c.updated_at.desc()).limit(1))).first()
        found: list[tuple[int, dict[str, Any]]] = []
        if row is not None:
            found.append((int(row[1]), json.loads(row[0])))
        if case is not None:
            body = json.loads(case[1])
            found.append((int(case[2]), {**body, "case_id": case[0]}))
        if not found:
            return None
        body = max(found, key=lambda f: f[0])[1]
        keep = ("statement_id", "id", "case_id", "text", "ground", "restrictions",
                "appeal_until")
        return {k: body[k] for k in keep if k in body}

    async def record_views(self, conn: AsyncConnection, user_id: int,
                           post_ids: Sequence[int]) -> None:
        """One view per account per post: the insert is ignored if it was seen before."""
        for post_id in dict.fromkeys(post_ids):
            result = await conn.execute(_insert(conn, post_views).values(
                post_id=post_id, user_id=user_id).on_conflict_do_nothing())
            if result.rowcount:
                await conn.execute(channel_posts.update().where(channel_posts.c.id == post_id)
                                   .values(views=channel_posts.c.views + 1))

    # --- the update log -------------------------------------------------------------
    async def append_update(self, conn: AsyncConnection, channel_id: int, kind: str,
                            post_id: int, body: str, now: int) -> int:
        return await run_async(conn, self.append_update_plan(channel_id, kind, post_id, body,
                                                             now))

    def append_update_plan(self, channel_id: int, kind: str, post_id: int, body: str,
                           now: int, dialect: str = "") -> Plan[int]:
        """The channel's next update (its log for live clients and catch-up): on
        SQLite as prepared text (every post makes one)."""
        if dialect == "sqlite":
            seq = int((yield Raw(_LITE_NEXT_UPDATE, (channel_id,)))[0][0])
            yield Raw(_LITE_ADD_UPDATE, (channel_id, seq, kind, post_id, body, now))
            return seq
        seq = int((yield channels.update().where(channels.c.id == channel_id)
                   .values(update_seq=channels.c.update_seq + 1)
                   .returning(channels.c.update_seq)).scalar_one())
        yield channel_updates.insert().values(channel_id=channel_id, seq=seq, kind=kind,
                                              post_id=post_id, body=body, created_at=now)
        return seq

    async def updates(self, conn: AsyncConnection, channel_id: int, since: int,
                      limit: int) -> list[UpdateRecord]:
        u = channel_updates
        rows = await conn.execute(
            sa.select(u.c.seq, u.c.kind, u.c.post_id, u.c.body, u.c.created_at)
            .where(u.c.channel_id == channel_id, u.c.seq > since)
            .order_by(u.c.seq).limit(limit))
        return [UpdateRecord(int(r[0]), r[1], int(r[2]), r[3], int(r[4])) for r in rows]

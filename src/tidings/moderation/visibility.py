"""What each audience may see of a post or a channel, in each state: one table.

Every read surface (a single post, a channel's history, the update log, search, the
web view and its og: tags, live frames, pins, forwards) renders through this module
and nothing else, so "removed" means the same thing on every route (issue #17,
docs/decisions.md "Visibility"). The table is written out in docs/channels.md ("What
each audience sees") and checked, route by route, by ``tests/server/test_visibility_crawl.py``.

A post is seen *full* (text, media, everything), as a *tombstone* (its number,
channel and state, and for staff its internal id; for its author also the statement of
reasons, nothing else), or *hidden* (as if it never existed: 404, left out of every
list). Removed and deleted posts are tombstones for everyone, staff included:
moderators read removed content through the case console, not through public routes;
the author is told why (the notice) and appeals through the case. Old versions of an
edited post are never shown to anyone: an edit replaces the text everywhere, the update
log included.

Pure: values in, values out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final


class Audience(StrEnum):
    """Who is looking, from the least to the most entitled for one post."""

    PUBLIC = "public"
    """Anyone: no account, any account, a subscriber. They all see the same."""
    ADMIN = "admin"
    """The channel's owner or one of its admins (for a post they did not write)."""
    AUTHOR = "author"
    """Whoever wrote the post (an owner or admin of the channel when they wrote it)."""
    STAFF = "staff"
    """The operator's moderators, auditors and admins."""


class PostState(StrEnum):
    VISIBLE = "visible"
    HELD = "held"
    """Stored but waiting for review (a hash-bank hold, a rule's hold)."""
    REMOVED = "removed"
    """Taken down by a moderator, a removal order or the rules (retro-scan)."""
    DELETED = "deleted"
    """Deleted by its author or with its channel."""


class Shown(StrEnum):
    FULL = "full"
    TOMBSTONE = "tombstone"
    HIDDEN = "hidden"


@dataclass(frozen=True, slots=True)
class PostView:
    shown: Shown
    listed: bool
    """Appears in lists (history, search, the web page of the channel)."""
    notice: bool = False
    """The tombstone carries the statement of reasons (for the author)."""


_FULL = PostView(Shown.FULL, listed=True)
_HIDDEN = PostView(Shown.HIDDEN, listed=False)
_TOMB = PostView(Shown.TOMBSTONE, listed=False)
_TOMB_NOTICE = PostView(Shown.TOMBSTONE, listed=False, notice=True)

POST_TABLE: Final[Mapping[tuple[PostState, Audience], PostView]] = {
    (PostState.VISIBLE, Audience.PUBLIC): _FULL,
    (PostState.VISIBLE, Audience.ADMIN): _FULL,
    (PostState.VISIBLE, Audience.AUTHOR): _FULL,
    (PostState.VISIBLE, Audience.STAFF): _FULL,
    (PostState.HELD, Audience.PUBLIC): _HIDDEN,
    (PostState.HELD, Audience.ADMIN): _FULL,
    (PostState.HELD, Audience.AUTHOR): _FULL,
    (PostState.HELD, Audience.STAFF): _FULL,
    (PostState.REMOVED, Audience.PUBLIC): _TOMB,
    (PostState.REMOVED, Audience.ADMIN): _TOMB,
    (PostState.REMOVED, Audience.AUTHOR): _TOMB_NOTICE,
    (PostState.REMOVED, Audience.STAFF): _TOMB_NOTICE,
    (PostState.DELETED, Audience.PUBLIC): _TOMB,
    (PostState.DELETED, Audience.ADMIN): _TOMB,
    (PostState.DELETED, Audience.AUTHOR): _TOMB,
    (PostState.DELETED, Audience.STAFF): _TOMB,
}
"""(state, audience) -> what is shown. Complete: a test checks every pair is here."""

TOMBSTONE_FIELDS: Final = ("id", "number", "channel", "state")
"""All a tombstone carries (plus ``notice`` for the author): never text, media, title
of a forward's source, views or dates. ``id``, the global internal id, only for staff:
everyone else names a post by its channel and number (docs/decisions.md)."""

HIDDEN_STATE: Final = "unavailable"
"""The state an update-log entry shows for a post the reader may not see at all
(a held post), so the log keeps its sequence without saying why."""


def post_state(state: str, deleted: bool) -> PostState:
    """The visibility state of a stored post (``deleted_at`` wins over ``state``)."""
    if deleted:
        return PostState.DELETED
    try:
        return PostState(state)
    except ValueError:  # an unknown stored state is treated as the strictest one
        return PostState.REMOVED


def audience(*, staff: bool, author: bool, admin: bool) -> Audience:
    """The most entitled audience the reader belongs to for this post. The table is
    monotone (each row shows at least what the row before it shows), so picking the
    highest is the same as uniting what each role may see."""
    if staff:
        return Audience.STAFF
    if author:
        return Audience.AUTHOR
    if admin:
        return Audience.ADMIN
    return Audience.PUBLIC


def post_view(state: PostState, who: Audience) -> PostView:
    return POST_TABLE[(state, who)]


def listed_states(who: Audience) -> tuple[str, ...]:
    """The stored states a list (history) shows to this audience, derived from the table."""
    return tuple(str(s) for s in PostState if s is not PostState.DELETED
                 and post_view(s, who).listed)


def shape_post(full: Mapping[str, Any], state: PostState, who: Audience,
               notice: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """The post as ``who`` may see it; ``full`` is the complete rendering. None: hidden."""
    view = post_view(state, who)
    if view.shown is Shown.HIDDEN:
        return None
    if who is not Audience.STAFF:  # the global id is internal: the public name is the
        full = {k: v for k, v in full.items() if k != "id"}  # channel and its number
    if view.shown is Shown.FULL:
        return {**full, "state": str(state)}
    out = {k: full[k] for k in TOMBSTONE_FIELDS if k in full}
    out["state"] = str(state)
    if view.notice and notice is not None:
        out["notice"] = dict(notice)
    return out


def log_entry(full: Mapping[str, Any], state: PostState, who: Audience,
              notice: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """An update-log entry's post: like :func:`shape_post`, but a hidden post still
    takes its place in the sequence, as a bare reference."""
    shaped = shape_post(full, state, who, notice)
    if shaped is not None:
        return shaped
    return {k: full[k] for k in ("number", "channel") if k in full} | {
        "state": HIDDEN_STATE}


# --- channels ---------------------------------------------------------------------------

class ChannelState(StrEnum):
    VISIBLE = "visible"
    HELD = "held"
    """Created or edited with details that wait for review."""
    REMOVED = "removed"
    """Taken down by a moderator's decision."""
    BANNED = "banned"
    """Banned by the rules (terrorist content, strikes); its notice names the ground."""
    DELETED = "deleted"
    """Deleted by its owner. The row stays (cases and orders keep their reference), its
    handle is freed, its posts are deleted with it."""


class ChannelShown(StrEnum):
    OPEN = "open"
    GONE = "gone"
    """410 with a notice that says why."""
    HIDDEN = "hidden"
    """404, as if it never existed."""


CHANNEL_TABLE: Final[Mapping[tuple[ChannelState, Audience], ChannelShown]] = {
    (ChannelState.VISIBLE, Audience.PUBLIC): ChannelShown.OPEN,
    (ChannelState.VISIBLE, Audience.ADMIN): ChannelShown.OPEN,
    (ChannelState.VISIBLE, Audience.STAFF): ChannelShown.OPEN,
    (ChannelState.HELD, Audience.PUBLIC): ChannelShown.HIDDEN,
    (ChannelState.HELD, Audience.ADMIN): ChannelShown.OPEN,
    (ChannelState.HELD, Audience.STAFF): ChannelShown.OPEN,
    (ChannelState.REMOVED, Audience.PUBLIC): ChannelShown.GONE,
    (ChannelState.REMOVED, Audience.ADMIN): ChannelShown.GONE,
    (ChannelState.REMOVED, Audience.STAFF): ChannelShown.OPEN,
    (ChannelState.BANNED, Audience.PUBLIC): ChannelShown.GONE,
    (ChannelState.BANNED, Audience.ADMIN): ChannelShown.GONE,
    (ChannelState.BANNED, Audience.STAFF): ChannelShown.OPEN,
    (ChannelState.DELETED, Audience.PUBLIC): ChannelShown.HIDDEN,
    (ChannelState.DELETED, Audience.ADMIN): ChannelShown.HIDDEN,
    (ChannelState.DELETED, Audience.STAFF): ChannelShown.HIDDEN,
}
"""(channel state, audience) -> open / 410 / 404. For a channel, its owner and admins
are the ``ADMIN`` audience (``AUTHOR`` is a post's notion). Staff open a removed or
banned channel to review it; the posts in it still follow ``POST_TABLE``."""

CHANNEL_AUDIENCES: Final = (Audience.PUBLIC, Audience.ADMIN, Audience.STAFF)


def channel_state(state: str) -> ChannelState:
    try:
        return ChannelState(state)
    except ValueError:  # unknown: the strictest answer
        return ChannelState.REMOVED


def channel_view(state: ChannelState, who: Audience) -> ChannelShown:
    if who is Audience.AUTHOR:
        who = Audience.ADMIN
    return CHANNEL_TABLE[(state, who)]


def public_posts_listed(state: ChannelState) -> bool:
    """Do the channel's posts appear in public lists (search, feeds)?"""
    return channel_view(state, Audience.PUBLIC) is ChannelShown.OPEN

"""Who may do what in a channel, and who may see it.

The owner may do everything. Admins hold three separate permissions (post; edit and
delete others' posts and pin; manage admins and the channel's details), as on
Telegram, so a channel can have editors who cannot hand out power. Seeing follows
the channel: public channels are readable by anyone, even without an account;
unlisted ones only with the invite link token (or once subscribed, or as an admin);
held ones (awaiting review) only by their admins; removed and banned ones by nobody
(410), deleted ones by nobody (404): ``moderation/visibility.py`` holds the table.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from typing import Any

from tidings.moderation.visibility import (
    Audience,
    ChannelShown,
    ChannelState,
    PostState,
    audience,
    channel_state,
    channel_view,
    log_entry,
    post_state,
)
from tidings.protocol.errors import Forbidden, Gone, NotFound
from tidings.services.accounts import Principal
from tidings.services.media import media_url
from tidings.storage.channels import AdminRecord, ChannelRecord, PostRecord


@dataclass(frozen=True, slots=True)
class Perms:
    owner: bool = False
    admin: bool = False
    post: bool = False
    edit_others: bool = False
    manage: bool = False

    @property
    def role(self) -> str | None:
        return "owner" if self.owner else "admin" if self.admin else None


OWNER = Perms(True, True, True, True, True)
NOBODY = Perms()


def perms_of(channel: ChannelRecord, who: Principal | None, admin: AdminRecord | None) -> Perms:
    if who is None:
        return NOBODY
    if channel.owner_id == who.user_id:
        return OWNER
    if admin is None:
        return NOBODY
    return Perms(False, True, admin.can_post, admin.can_edit_others, admin.can_manage_admins)


def channel_audience(perms: Perms, staff: bool) -> Audience:
    return Audience.STAFF if staff else Audience.ADMIN if perms.admin else Audience.PUBLIC


def check_visible(channel: ChannelRecord | None, perms: Perms, *, invite: str | None = None,
                  subscribed: bool = False, staff: bool = False,
                  banned_message: str | None = None) -> ChannelRecord:
    """Raise 404/410 unless this caller may see the channel at all: the channel table
    of ``moderation/visibility.py`` decides, then an unlisted channel needs its invite."""
    if channel is None:
        raise NotFound("no such channel", "channel_not_found")
    state = channel_state(channel.state)
    shown = channel_view(state, channel_audience(perms, staff))
    if shown is ChannelShown.GONE:
        if state is ChannelState.BANNED:
            raise Gone(banned_message or "This channel is unavailable: it was banned for "
                       "breaking the rules.", "channel_banned")
        raise Gone("this channel was removed for violating the rules", "channel_removed")
    if shown is ChannelShown.HIDDEN:
        raise NotFound("no such channel", "channel_not_found")
    if unlisted_and_hidden(channel, perms, invite=invite, subscribed=subscribed, staff=staff):
        # Word for word the answer for a channel that does not exist: an outsider
        # must not learn that an unlisted channel is there (issue 20 item 7).
        raise NotFound("no such channel", "channel_not_found")
    return channel


def unlisted_and_hidden(channel: ChannelRecord, perms: Perms, *, invite: str | None,
                        subscribed: bool, staff: bool) -> bool:
    """An unlisted channel this caller has no way in to (no invite, no subscription, no
    role): every route answers for it exactly as for a channel that does not exist."""
    if channel.visibility != "unlisted" or perms.admin or subscribed or staff:
        return False
    token = channel.invite_token or ""
    return not invite or not token or not hmac.compare_digest(invite, token)


def invite_in(location: str) -> str | None:
    """The ``invite`` parameter of a link (``/c/HANDLE?invite=TOKEN``), if any: a report
    about an unlisted channel carries the link its reporter was given."""
    for part in location.partition("?")[2].split("&"):
        key, _, value = part.partition("=")
        if key == "invite" and value:
            return value[:64]
    return None


def require(allowed: bool, what: str) -> None:
    if not allowed:
        raise Forbidden(f"you may not {what} in this channel", "channel_forbidden")


def channel_json(channel: ChannelRecord, perms: Perms = NOBODY,
                 subscribed: bool | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": channel.id, "handle": channel.handle, "title": channel.title,
        "description": channel.description,
        "avatar_url": media_url(channel.avatar_sha256) if channel.avatar_sha256 else None,
        "visibility": channel.visibility, "state": channel.state,
        "subscriber_count": channel.subscriber_count, "update_seq": channel.update_seq,
        "pinned_number": channel.pinned_number, "created_at": channel.created_at,
        "role": perms.role,
    }
    if subscribed is not None:
        out["subscribed"] = subscribed
    if perms.manage:
        out["invite_token"] = channel.invite_token
    return out


def post_fields(post: PostRecord, channel: ChannelRecord) -> dict[str, Any]:
    """The complete rendering of a post, before the visibility rule says what of it a
    reader may see; never returned as it is (use :func:`post_json`)."""
    return {
        "id": post.id, "number": post.number, "channel": channel.handle, "text": post.text,
        "media": json.loads(post.media),
        "forwarded_from": json.loads(post.forwarded_from) if post.forwarded_from else None,
        "state": post.state, "views": post.views,
        "created_at": post.created_at, "edited_at": post.edited_at,
        "pinned": channel.pinned_post_id == post.id,
    }


def state_of(post: PostRecord) -> PostState:
    return post_state(post.state, post.deleted_at is not None)


def reader(post: PostRecord, perms: Perms, who: Principal | None) -> Audience:
    """Which audience of the visibility table this reader is, for this post."""
    return audience(staff=bool(who and who.is_staff),
                    author=bool(who and post.author_id == who.user_id),
                    admin=perms.admin)


def post_json(post: PostRecord, channel: ChannelRecord, who: Audience = Audience.PUBLIC,
              notice: dict[str, Any] | None = None) -> dict[str, Any]:
    """The post as ``who`` may see it (``moderation/visibility.py``): full, a tombstone,
    or, for a post hidden from them, a bare reference (as the update log shows it)."""
    return log_entry(post_fields(post, channel), state_of(post), who, notice)

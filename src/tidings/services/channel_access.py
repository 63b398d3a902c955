"""Who may do what in a channel, and who may see it.

The owner may do everything. Admins hold three separate permissions (post; edit and
delete others' posts and pin; manage admins and the channel's details), as on
Telegram, so a channel can have editors who cannot hand out power. Seeing follows
the channel: public channels are readable by anyone, even without an account;
unlisted ones only with the invite link token (or once subscribed, or as an admin);
held ones (awaiting review) only by their admins; removed ones by nobody (410).
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from typing import Any

from tidings.protocol.errors import Forbidden, Gone, NotFound
from tidings.services.accounts import Principal
from tidings.services.gate import HELD, REMOVED
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


def check_visible(channel: ChannelRecord | None, perms: Perms, *, invite: str | None = None,
                  subscribed: bool = False, staff: bool = False) -> ChannelRecord:
    """Raise 404/410 unless this caller may see the channel at all."""
    if channel is None:
        raise NotFound("no such channel", "channel_not_found")
    if channel.state == REMOVED and not staff:
        raise Gone("this channel was removed for violating the rules", "channel_removed")
    if channel.state == HELD and not (perms.admin or staff):
        raise NotFound("no such channel", "channel_not_found")
    if channel.visibility == "unlisted" and not (perms.admin or subscribed or staff):
        token = channel.invite_token or ""
        if not invite or not token or not hmac.compare_digest(invite, token):
            raise NotFound("no such channel (unlisted channels need their invite link)",
                           "channel_not_found")
    return channel


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
        "pinned_post_id": channel.pinned_post_id, "created_at": channel.created_at,
        "role": perms.role,
    }
    if subscribed is not None:
        out["subscribed"] = subscribed
    if perms.manage:
        out["invite_token"] = channel.invite_token
    return out


def post_json(post: PostRecord, channel: ChannelRecord) -> dict[str, Any]:
    deleted = post.deleted_at is not None
    gone = deleted or post.state == REMOVED  # a notice takes its place, never its content
    return {
        "id": post.id, "channel": channel.handle,
        "text": "" if gone else post.text,
        "media": [] if gone else json.loads(post.media),
        "forwarded_from": json.loads(post.forwarded_from) if post.forwarded_from else None,
        "state": "deleted" if deleted else post.state, "views": post.views,
        "created_at": post.created_at, "edited_at": post.edited_at,
        "pinned": channel.pinned_post_id == post.id,
    }

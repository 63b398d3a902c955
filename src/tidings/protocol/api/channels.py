"""Results of the channel, post, media and profile routes."""

from __future__ import annotations

from tidings.protocol.api import Result


class Channel(Result):
    id: int
    handle: str
    title: str
    description: str
    avatar_url: str | None
    visibility: str
    state: str
    subscriber_count: int
    update_seq: int
    pinned_number: int | None
    created_at: int
    role: str | None
    """owner, admin or None: the caller's role in the channel."""
    subscribed: bool | None = None
    """Whether the caller follows the channel (signed-in readers)."""
    invite_token: str | None = None
    """The unlisted channel's invite (owners and admins who manage it)."""


class ChannelAdmin(Result):
    username: str | None
    owner: bool
    can_post: bool
    can_edit_others: bool
    can_manage_admins: bool


class Media(Result):
    """How a post or avatar describes one media item."""
    sha256: str
    kind: str
    media_type: str
    size: int
    width: int | None
    height: int | None
    url: str
    thumbnail_url: str | None


class Forwarded(Result):
    channel: str
    title: str
    number: int


class Notice(Result):
    """The statement of reasons a removed post's author sees in its tombstone."""
    statement_id: str | None = None
    id: str | None = None
    case_id: str | None = None
    text: str | None = None
    ground: str | None = None
    restrictions: list[str] | None = None
    appeal_until: int | None = None


class Post(Result):
    """A post as its reader may see it (moderation/visibility.py): in full, a tombstone
    (number, channel, state, and ``notice`` for its author), or in the update log a bare
    reference with state ``unavailable``. ``id``, the internal id, is for staff only."""
    number: int | None = None
    channel: str
    state: str
    id: int | None = None
    text: str | None = None
    media: list[Media] | None = None
    forwarded_from: Forwarded | None = None
    views: int | None = None
    created_at: int | None = None
    edited_at: int | None = None
    pinned: bool | None = None
    notice: Notice | None = None


class PostPage(Result):
    channel: Channel
    posts: list[Post]
    next_before: int | None
    """The ``before`` of the next (older) page; None on the last page."""


class Update(Result):
    seq: int
    kind: str
    post: Post
    ts: int


class Updates(Result):
    channel: str
    head: int
    updates: list[Update]


class Preview(Result):
    preview_url: str
    preview_expires_at: int


class UploadModeration(Result):
    state: str
    low_texture: bool
    note: str | None
    signals: list[str]


class Upload(Media):
    preview_url: str
    preview_expires_at: int
    thumbnail_preview_url: str | None = None
    moderation: UploadModeration


class Profile(Result):
    username: str
    display_name: str | None
    avatar_url: str | None
    state: str

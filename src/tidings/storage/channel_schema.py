"""Tables of public channels, their posts, media and profiles (migration 0003).

Kept apart from ``schema.py`` so channel work and private messaging evolve without
editing one file; both register on the same ``metadata``. Search columns and indexes
that exist on one engine only (PostgreSQL ``tsvector`` + GIN, SQLite FTS5 tables) are
created by the migration and used through ``storage/search.py``, not declared here.
"""

from __future__ import annotations

import sqlalchemy as sa

from tidings.storage.schema import metadata

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _user_fk() -> sa.ForeignKey:
    return sa.ForeignKey("users.id", ondelete="CASCADE")

media = sa.Table(
    "media",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("media_type", sa.String(64), nullable=False),
    sa.Column("size", sa.BigInteger(), nullable=False),
    sa.Column("width", sa.Integer(), nullable=True),
    sa.Column("height", sa.Integer(), nullable=True),
    sa.Column("thumb_sha256", sa.String(64), nullable=True),
    sa.Column("uploader_id", sa.BigInteger(), sa.ForeignKey("users.id", ondelete="SET NULL"),
              nullable=True),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    # migration 0011: a removal withdraws the media for good (never served again)
    sa.Column("withdrawn_at", sa.BigInteger(), nullable=True),
    sa.Column("withdrawn_reason", sa.String(64), nullable=True),
)

media_uploads = sa.Table(
    "media_uploads",
    metadata,
    # Who uploaded these bytes (one row per uploader): who may preview and post them
    # before a public object uses them (migration 0011).
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.BigInteger(), _user_fk(), primary_key=True, index=True),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
)

media_signals = sa.Table(
    "media_signals",
    metadata,
    # Signals computed once at upload (moderation/media_signals.py), reused by the
    # publish gate, the serving check and auto-banking (migration 0011).
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("position", sa.Integer(), primary_key=True),
    sa.Column("signal_type", sa.String(32), nullable=False),
    sa.Column("value", sa.Text(), nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("quality", sa.Integer(), nullable=True),
)

channels = sa.Table(
    "channels",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("handle", sa.String(32), nullable=False, unique=True),
    sa.Column("handle_key", sa.String(128), nullable=False, unique=True),
    sa.Column("title", sa.String(128), nullable=False),
    sa.Column("title_key", sa.String(512), nullable=False, index=True),
    sa.Column("description", sa.Text(), nullable=False, server_default=""),
    sa.Column("avatar_sha256", sa.String(64), nullable=True),
    sa.Column("visibility", sa.String(8), nullable=False, server_default="public"),
    sa.Column("invite_token", sa.String(64), nullable=True, unique=True),
    sa.Column("owner_id", sa.BigInteger(), _user_fk(), nullable=False, index=True),
    sa.Column("state", sa.String(8), nullable=False, server_default="visible"),
    sa.Column("subscriber_count", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("update_seq", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("pinned_post_id", sa.BigInteger(), nullable=True),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    # migration 0023: the counter of per-channel post numbers (never decremented, so a
    # number is never given twice) and the pinned post's public number
    sa.Column("last_post_number", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("pinned_number", sa.BigInteger(), nullable=True),
    sqlite_autoincrement=True,  # ids are never reused (migration 0011)
)

channel_admins = sa.Table(
    "channel_admins",
    metadata,
    sa.Column("channel_id", sa.BigInteger(), sa.ForeignKey("channels.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("user_id", sa.BigInteger(), _user_fk(), primary_key=True),
    sa.Column("can_post", sa.Boolean(), nullable=False),
    sa.Column("can_edit_others", sa.Boolean(), nullable=False),
    sa.Column("can_manage_admins", sa.Boolean(), nullable=False),
)

channel_subscriptions = sa.Table(
    "channel_subscriptions",
    metadata,
    sa.Column("channel_id", sa.BigInteger(), sa.ForeignKey("channels.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("user_id", sa.BigInteger(), _user_fk(), primary_key=True, index=True),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
)

channel_posts = sa.Table(
    "channel_posts",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("channel_id", sa.BigInteger(), sa.ForeignKey("channels.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("author_id", sa.BigInteger(), sa.ForeignKey("users.id", ondelete="SET NULL"),
              nullable=True),
    sa.Column("text", sa.Text(), nullable=False, server_default=""),
    sa.Column("media", sa.Text(), nullable=False, server_default="[]"),
    sa.Column("forwarded_from", sa.Text(), nullable=True),
    sa.Column("state", sa.String(8), nullable=False, server_default="visible"),
    sa.Column("views", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    sa.Column("edited_at", sa.BigInteger(), nullable=True),
    sa.Column("deleted_at", sa.BigInteger(), nullable=True),
    # migration 0023: 1, 2, 3, ... within the channel, the number public URLs use
    sa.Column("number", sa.BigInteger(), nullable=False),
    sa.Index("ix_channel_posts_channel_id_id", "channel_id", "id"),
    sa.Index("ux_channel_posts_channel_number", "channel_id", "number", unique=True),
    sqlite_autoincrement=True,  # ids are never reused (migration 0011)
)

post_media = sa.Table(
    "post_media",
    metadata,
    sa.Column("post_id", sa.BigInteger(), sa.ForeignKey("channel_posts.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("sha256", sa.String(64), primary_key=True, index=True),
)

post_views = sa.Table(
    "post_views",
    metadata,
    sa.Column("post_id", sa.BigInteger(), sa.ForeignKey("channel_posts.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("user_id", sa.BigInteger(), _user_fk(), primary_key=True),
)

channel_updates = sa.Table(
    "channel_updates",
    metadata,
    sa.Column("channel_id", sa.BigInteger(), sa.ForeignKey("channels.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("seq", sa.BigInteger(), primary_key=True),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("post_id", sa.BigInteger(), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
)

profiles = sa.Table(
    "profiles",
    metadata,
    sa.Column("user_id", sa.BigInteger(), _user_fk(), primary_key=True),
    sa.Column("avatar_sha256", sa.String(64), nullable=True),
    sa.Column("state", sa.String(8), nullable=False, server_default="visible"),
)

"""Public channels: channels, admins, subscriptions, posts, media, views, update log,
profiles, and full-text search (PostgreSQL tsvector + GIN; SQLite FTS5).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _user_fk(ondelete: str = "CASCADE") -> sa.ForeignKey:
    return sa.ForeignKey("users.id", ondelete=ondelete)


def _channel_fk() -> sa.ForeignKey:
    return sa.ForeignKey("channels.id", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "media",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("media_type", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("thumb_sha256", sa.String(64), nullable=True),
        sa.Column("uploader_id", sa.BigInteger(), _user_fk("SET NULL"), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "channels",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("handle", sa.String(32), nullable=False, unique=True),
        sa.Column("handle_key", sa.String(128), nullable=False, unique=True),
        sa.Column("title", sa.String(128), nullable=False),
        sa.Column("title_key", sa.String(512), nullable=False),
        sa.Column("description", sa.Text(), nullable=False, server_default=""),
        sa.Column("avatar_sha256", sa.String(64), nullable=True),
        sa.Column("visibility", sa.String(8), nullable=False, server_default="public"),
        sa.Column("invite_token", sa.String(64), nullable=True, unique=True),
        sa.Column("owner_id", sa.BigInteger(), _user_fk(), nullable=False),
        sa.Column("state", sa.String(8), nullable=False, server_default="visible"),
        sa.Column("subscriber_count", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("update_seq", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("pinned_post_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_channels_title_key", "channels", ["title_key"])
    op.create_index("ix_channels_owner_id", "channels", ["owner_id"])
    op.create_table(
        "channel_admins",
        sa.Column("channel_id", sa.BigInteger(), _channel_fk(), primary_key=True),
        sa.Column("user_id", sa.BigInteger(), _user_fk(), primary_key=True),
        sa.Column("can_post", sa.Boolean(), nullable=False),
        sa.Column("can_edit_others", sa.Boolean(), nullable=False),
        sa.Column("can_manage_admins", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "channel_subscriptions",
        sa.Column("channel_id", sa.BigInteger(), _channel_fk(), primary_key=True),
        sa.Column("user_id", sa.BigInteger(), _user_fk(), primary_key=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_channel_subscriptions_user_id", "channel_subscriptions", ["user_id"])
    op.create_table(
        "channel_posts",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("channel_id", sa.BigInteger(), _channel_fk(), nullable=False),
        sa.Column("author_id", sa.BigInteger(), _user_fk("SET NULL"), nullable=True),
        sa.Column("text", sa.Text(), nullable=False, server_default=""),
        sa.Column("media", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("forwarded_from", sa.Text(), nullable=True),
        sa.Column("state", sa.String(8), nullable=False, server_default="visible"),
        sa.Column("views", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("edited_at", sa.BigInteger(), nullable=True),
        sa.Column("deleted_at", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_channel_posts_channel_id_id", "channel_posts", ["channel_id", "id"])
    op.create_table(
        "post_media",
        sa.Column("post_id", sa.BigInteger(),
                  sa.ForeignKey("channel_posts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("sha256", sa.String(64), primary_key=True),
    )
    op.create_index("ix_post_media_sha256", "post_media", ["sha256"])
    op.create_table(
        "post_views",
        sa.Column("post_id", sa.BigInteger(),
                  sa.ForeignKey("channel_posts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("user_id", sa.BigInteger(), _user_fk(), primary_key=True),
    )
    op.create_table(
        "channel_updates",
        sa.Column("channel_id", sa.BigInteger(), _channel_fk(), primary_key=True),
        sa.Column("seq", sa.BigInteger(), primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("post_id", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "profiles",
        sa.Column("user_id", sa.BigInteger(), _user_fk(), primary_key=True),
        sa.Column("avatar_sha256", sa.String(64), nullable=True),
        sa.Column("state", sa.String(8), nullable=False, server_default="visible"),
    )
    _create_search()


def _create_search() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # 'simple' configuration: no language-specific stemming, so every language is
        # searched alike; weights rank handle/title above the description.
        op.execute(
            "ALTER TABLE channels ADD COLUMN search tsvector GENERATED ALWAYS AS ("
            "setweight(to_tsvector('simple', handle), 'A') || "
            "setweight(to_tsvector('simple', title), 'A') || "
            "setweight(to_tsvector('simple', description), 'B')) STORED")
        op.execute("CREATE INDEX ix_channels_search ON channels USING GIN (search)")
        op.execute(
            "ALTER TABLE channel_posts ADD COLUMN search tsvector GENERATED ALWAYS AS ("
            "to_tsvector('simple', text)) STORED")
        op.execute("CREATE INDEX ix_channel_posts_search ON channel_posts USING GIN (search)")
    else:
        # Plain FTS5 tables keyed by rowid = channel / post id, kept in step by the store
        # (storage/search.py) inside the same transaction as the row they index.
        op.execute("CREATE VIRTUAL TABLE channel_fts USING fts5(handle, title, description, "
                   "tokenize = 'unicode61 remove_diacritics 2')")
        op.execute("CREATE VIRTUAL TABLE post_fts USING fts5(text, "
                   "tokenize = 'unicode61 remove_diacritics 2')")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TABLE IF EXISTS post_fts")
        op.execute("DROP TABLE IF EXISTS channel_fts")
    for table in ("profiles", "channel_updates", "post_views", "post_media", "channel_posts",
                  "channel_subscriptions", "channel_admins", "channels", "media"):
        op.drop_table(table)

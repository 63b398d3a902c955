"""Per-channel post numbers (issue 21 item 5, docs/decisions.md "Post identifiers").

``channel_posts.number`` is 1, 2, 3, ... within each channel, backfilled here in id
order; ``channels.last_post_number`` is the counter the write transaction of a new post
increments (never decremented, so a deleted post's number is never given again);
``channels.pinned_number`` names the pinned post by its public number.

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("channel_posts", sa.Column("number", sa.BigInteger(), nullable=False,
                                             server_default="0"))
    op.add_column("channels", sa.Column("last_post_number", sa.BigInteger(), nullable=False,
                                        server_default="0"))
    op.add_column("channels", sa.Column("pinned_number", sa.BigInteger(), nullable=True))
    # UPDATE ... FROM: PostgreSQL, and SQLite since 3.33.
    op.execute(
        "UPDATE channel_posts SET number = r.n FROM (SELECT id, row_number() OVER "
        "(PARTITION BY channel_id ORDER BY id) AS n FROM channel_posts) AS r "
        "WHERE channel_posts.id = r.id")
    op.execute(
        "UPDATE channels SET last_post_number = COALESCE((SELECT max(p.number) FROM "
        "channel_posts p WHERE p.channel_id = channels.id), 0)")
    op.execute(
        "UPDATE channels SET pinned_number = (SELECT p.number FROM channel_posts p "
        "WHERE p.id = channels.pinned_post_id) WHERE pinned_post_id IS NOT NULL")
    op.create_index("ux_channel_posts_channel_number", "channel_posts",
                    ["channel_id", "number"], unique=True)
    if op.get_bind().dialect.name == "postgresql":  # SQLite keeps the default: harmless
        op.alter_column("channel_posts", "number", server_default=None)


def downgrade() -> None:
    op.drop_index("ux_channel_posts_channel_number", "channel_posts")
    op.drop_column("channels", "pinned_number")
    op.drop_column("channels", "last_post_number")
    op.drop_column("channel_posts", "number")

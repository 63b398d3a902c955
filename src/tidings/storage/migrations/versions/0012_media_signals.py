"""Media private until cleared: uploaders, signals computed at upload, withdrawal.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("media", sa.Column("withdrawn_at", sa.BigInteger(), nullable=True))
    op.add_column("media", sa.Column("withdrawn_reason", sa.String(64), nullable=True))
    op.create_table(
        "media_uploads",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.BigInteger(), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_media_uploads_user_id", "media_uploads", ["user_id"])
    op.create_table(
        "media_signals",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("signal_type", sa.String(32), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("quality", sa.Integer(), nullable=True),
    )
    # Existing uploads keep their uploader; their signals are computed on first use.
    op.execute("INSERT INTO media_uploads (sha256, user_id, created_at) "
               "SELECT sha256, uploader_id, created_at FROM media "
               "WHERE uploader_id IS NOT NULL")


def downgrade() -> None:
    op.drop_table("media_signals")
    op.drop_index("ix_media_uploads_user_id", "media_uploads")
    op.drop_table("media_uploads")
    op.drop_column("media", "withdrawn_reason")
    op.drop_column("media", "withdrawn_at")

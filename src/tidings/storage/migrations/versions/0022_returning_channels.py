"""Fingerprints of banned channels and holds of returning channels (issue 24).

Revision ID: 0022
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_fingerprints",
        sa.Column("channel_id", sa.BigInteger(),
                  sa.ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("cause", sa.String(32), nullable=False),
        sa.Column("handle", sa.String(64), nullable=False),
        sa.Column("title", sa.String(256), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("avatar_pdq", sa.Text(), nullable=False),
        sa.Column("media_pdq", sa.Text(), nullable=False),
        sa.Column("invite_tokens", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "returning_holds",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("channel_id", sa.BigInteger(),
                  sa.ForeignKey("channels.id", ondelete="CASCADE"), nullable=False),
        sa.Column("banned_channel_id", sa.BigInteger(), nullable=False),
        sa.Column("banned_label", sa.String(64), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("signals", sa.Text(), nullable=False),
        sa.Column("pending", sa.Text(), nullable=True),
        sa.Column("post_id", sa.BigInteger(), nullable=True),
        sa.Column("case_id", sa.String(32), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("decision_label", sa.String(64), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("decided_at", sa.BigInteger(), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_returning_holds_channel_id", "returning_holds", ["channel_id"])
    op.create_index("ix_returning_holds_created_at", "returning_holds", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_returning_holds_created_at", "returning_holds")
    op.drop_index("ix_returning_holds_channel_id", "returning_holds")
    op.drop_table("returning_holds")
    op.drop_table("channel_fingerprints")

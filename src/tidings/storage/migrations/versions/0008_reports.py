"""Reports, review cases, the system inbox, trusted flaggers, moderator preferences.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "review_cases",
        sa.Column("id", sa.String(24), primary_key=True),
        sa.Column("target_kind", sa.String(16), nullable=False),
        sa.Column("target_ref", sa.String(128), nullable=False),
        sa.Column("affected_user_id", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("policy", sa.String(64), nullable=True),
        sa.Column("statement", sa.Text(), nullable=True),
        sa.Column("snapshot", sa.Text(), nullable=True),
        sa.Column("matches", sa.Text(), nullable=True),
        sa.Column("appeal_text", sa.Text(), nullable=True),
        sa.Column("appeal_answer", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_review_cases_queue", "review_cases", ["state", "rank", "created_at"])
    op.create_index("ix_review_cases_target", "review_cases", ["target_kind", "target_ref"])
    op.create_index("ix_review_cases_affected", "review_cases", ["affected_user_id"])
    op.create_table(
        "reports",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(24), nullable=False, index=True),
        sa.Column("reporter_id", sa.BigInteger(), nullable=True, index=True),
        sa.Column("target_kind", sa.String(16), nullable=False),
        sa.Column("target_ref", sa.String(128), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("notifier_name", sa.String(128), nullable=True),
        sa.Column("notifier_email", sa.String(254), nullable=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("status", sa.String(16), nullable=False, server_default="received"),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "reported_messages",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("report_id", sa.BigInteger(), nullable=False, index=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("sender", sa.String(64), nullable=False),
        sa.Column("sender_device", sa.String(64), nullable=False),
        sa.Column("conversation", sa.String(128), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
    )
    op.create_table(
        "notices",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.BigInteger(), nullable=False, index=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("case_id", sa.String(24), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "trusted_flaggers",
        sa.Column("user_id", sa.BigInteger(), primary_key=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "moderator_prefs",
        sa.Column("user_id", sa.BigInteger(), primary_key=True),
        sa.Column("reveal_media", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    for name in ("moderator_prefs", "trusted_flaggers", "notices", "reported_messages",
                 "reports"):
        op.drop_table(name)
    for index in ("ix_review_cases_affected", "ix_review_cases_target", "ix_review_cases_queue"):
        op.drop_index(index, table_name="review_cases")
    op.drop_table("review_cases")

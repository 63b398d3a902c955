"""Rules and actions (issue #7): applied actions, strikes, flags, channel bans,
statements of reasons, rule-set versions and the hash-chained audit log.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "moderation_actions",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("idempotency_key", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("rule", sa.String(96), nullable=False),
        sa.Column("ruleset_version", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(160), nullable=False, index=True),
        sa.Column("cause", sa.String(160), nullable=False),
        sa.Column("actor", sa.String(96), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "strikes",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.BigInteger(), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(96), nullable=False),
        sa.Column("cause", sa.String(160), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "content_flags",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("target", sa.String(160), nullable=False, index=True),
        sa.Column("rule", sa.String(96), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "channel_bans",
        sa.Column("channel_id", sa.BigInteger(),
                  sa.ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("owner_id", sa.BigInteger(), nullable=False, index=True),
        sa.Column("ground", sa.String(200), nullable=False),
        sa.Column("rule", sa.String(96), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "statements_of_reasons",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("target", sa.String(160), nullable=False, index=True),
        sa.Column("user_id", sa.BigInteger(), nullable=True, index=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "rulesets",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(96), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("actor", sa.String(96), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("rule", sa.String(96), nullable=False),
        sa.Column("target", sa.String(160), nullable=False),
        sa.Column("time_ms", sa.BigInteger(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        # Unique: one record can follow a given hash, so a concurrent append cannot fork.
        sa.Column("prev_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("hash", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    for table in ("audit_log", "rulesets", "statements_of_reasons", "channel_bans",
                  "content_flags", "strikes", "moderation_actions"):
        op.drop_table(table)

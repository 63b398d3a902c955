"""Tables of rules and actions (migration 0007); registered on the shared metadata."""

from __future__ import annotations

import sqlalchemy as sa

from tidings.storage.schema import metadata

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

moderation_actions = sa.Table(
    "moderation_actions", metadata,
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

strikes = sa.Table(
    "strikes", metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.BigInteger(), sa.ForeignKey("users.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("weight", sa.Integer(), nullable=False),
    sa.Column("rule", sa.String(96), nullable=False),
    sa.Column("cause", sa.String(160), nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    sa.Column("expires_at", sa.BigInteger(), nullable=False),
)

content_flags = sa.Table(
    "content_flags", metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("target", sa.String(160), nullable=False, index=True),
    sa.Column("rule", sa.String(96), nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
)

channel_bans = sa.Table(
    "channel_bans", metadata,
    sa.Column("channel_id", sa.BigInteger(), sa.ForeignKey("channels.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("owner_id", sa.BigInteger(), nullable=False, index=True),
    sa.Column("ground", sa.String(200), nullable=False),
    sa.Column("rule", sa.String(96), nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
)

statements_of_reasons = sa.Table(
    "statements_of_reasons", metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("target", sa.String(160), nullable=False, index=True),
    sa.Column("user_id", sa.BigInteger(), nullable=True, index=True),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
)

rulesets = sa.Table(
    "rulesets", metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("created_by", sa.String(96), nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
)

audit_log = sa.Table(
    "audit_log", metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("actor", sa.String(96), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("rule", sa.String(96), nullable=False),
    sa.Column("target", sa.String(160), nullable=False),
    sa.Column("time_ms", sa.BigInteger(), nullable=False),
    sa.Column("details", sa.Text(), nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("hash", sa.String(64), nullable=False),
)

"""Tables for reports, review cases, the system inbox and moderator preferences (0008).

Kept apart from ``schema.py`` like ``channel_schema.py`` so areas can grow without
editing one file; all register on the same ``metadata``. A case stores the pure
``moderation.review.Case`` as JSON (``record``) plus the columns the queue sorts and
filters on.
"""

from __future__ import annotations

import sqlalchemy as sa

from tidings.storage.schema import metadata

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

review_cases = sa.Table(
    "review_cases",
    metadata,
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
    sa.Index("ix_review_cases_queue", "state", "rank", "created_at"),
    sa.Index("ix_review_cases_target", "target_kind", "target_ref"),
    sa.Index("ix_review_cases_affected", "affected_user_id"),
)

reports = sa.Table(
    "reports",
    metadata,
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

reported_messages = sa.Table(
    "reported_messages",
    metadata,
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

notices = sa.Table(
    "notices",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.BigInteger(), nullable=False, index=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("case_id", sa.String(24), nullable=True),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
)

trusted_flaggers = sa.Table(
    "trusted_flaggers",
    metadata,
    sa.Column("user_id", sa.BigInteger(), primary_key=True),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
)

moderator_prefs = sa.Table(
    "moderator_prefs",
    metadata,
    sa.Column("user_id", sa.BigInteger(), primary_key=True),
    sa.Column("reveal_media", sa.Boolean(), nullable=False, server_default=sa.false()),
)

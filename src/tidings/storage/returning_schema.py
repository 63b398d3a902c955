"""Fingerprints of banned channels and the holds of channels that resemble them
(migrations 0022 and 0025, issue 24); registered on the shared metadata."""

from __future__ import annotations

import sqlalchemy as sa

from tidings.storage.schema import metadata

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

channel_fingerprints = sa.Table(
    "channel_fingerprints", metadata,
    sa.Column("channel_id", sa.BigInteger(), sa.ForeignKey("channels.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("label", sa.String(64), nullable=False),
    sa.Column("cause", sa.String(32), nullable=False),
    sa.Column("handle", sa.String(64), nullable=False),
    sa.Column("title", sa.String(256), nullable=False),
    sa.Column("description", sa.Text(), nullable=False),
    sa.Column("avatar_pdq", sa.Text(), nullable=False),
    sa.Column("media_pdq", sa.Text(), nullable=False),
    sa.Column("invite_tokens", sa.Text(), nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    # Registrable domains only this channel linked to (migration 0025).
    sa.Column("domains", sa.Text(), nullable=False, server_default="[]"),
)

returning_holds = sa.Table(
    "returning_holds", metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("channel_id", sa.BigInteger(), sa.ForeignKey("channels.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("banned_channel_id", sa.BigInteger(), nullable=False),
    sa.Column("banned_label", sa.String(64), nullable=False),
    sa.Column("score", sa.Integer(), nullable=False),
    sa.Column("signals", sa.Text(), nullable=False),
    sa.Column("pending", sa.Text(), nullable=True),
    sa.Column("post_id", sa.BigInteger(), nullable=True),
    sa.Column("case_id", sa.String(32), nullable=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("decision_label", sa.String(64), nullable=True),
    sa.Column("created_at", sa.BigInteger(), nullable=False, index=True),
    sa.Column("decided_at", sa.BigInteger(), nullable=True),
    sqlite_autoincrement=True,
)

"""Tables of private groups (migration 0006).

The server knows who is in a group (it must, to fan messages out) but never what is
said: ``group_messages`` holds each Megolm ciphertext exactly once, and every member
device's stream event refers to it by id instead of carrying a copy.
"""

from __future__ import annotations

import sqlalchemy as sa

from tidings.storage.schema import metadata

groups = sa.Table(
    "groups",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("title", sa.String(128), nullable=False),
    sa.Column("created_by", sa.BigInteger(), sa.ForeignKey("users.id", ondelete="SET NULL"),
              nullable=True),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    sa.Column("timer_ms", sa.BigInteger(), nullable=True),
)

group_members = sa.Table(
    "group_members",
    metadata,
    sa.Column("group_id", sa.String(32), sa.ForeignKey("groups.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("user_id", sa.BigInteger(), sa.ForeignKey("users.id", ondelete="CASCADE"),
              primary_key=True, index=True),
    sa.Column("admin", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("joined_at", sa.BigInteger(), nullable=False),
)

group_messages = sa.Table(
    "group_messages",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("group_id", sa.String(32), sa.ForeignKey("groups.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("ciphertext", sa.Text(), nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False, index=True),
    sa.Column("expires_at", sa.BigInteger(), nullable=True, index=True),
)

attachments = sa.Table(
    "attachments",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.BigInteger(), sa.ForeignKey("users.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("size", sa.BigInteger(), nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    sa.Column("expires_at", sa.BigInteger(), nullable=False, index=True),
)

expiring_events = sa.Table(
    "expiring_events",
    metadata,
    sa.Column("device_id", sa.String(32), sa.ForeignKey("devices.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("seq", sa.BigInteger(), primary_key=True),
    sa.Column("expires_at", sa.BigInteger(), nullable=False, index=True),
)
"""Stream events of disappearing messages, and when the server deletes them undelivered."""

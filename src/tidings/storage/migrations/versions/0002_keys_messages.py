"""Key directory (device identity keys, one-time and fallback keys) and send idempotency.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _device_fk() -> sa.ForeignKey:
    return sa.ForeignKey("devices.id", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "device_keys",
        sa.Column("device_id", sa.String(32), _device_fk(), primary_key=True),
        sa.Column("user_id", sa.BigInteger(), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("curve25519", sa.String(64), nullable=False),
        sa.Column("ed25519", sa.String(64), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_device_keys_user_id", "device_keys", ["user_id"])
    op.create_table(
        "one_time_keys",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("device_id", sa.String(32), _device_fk(), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("device_id", "key_id", name="uq_one_time_keys_device_key"),
    )
    op.create_table(
        "fallback_keys",
        sa.Column("device_id", sa.String(32), _device_fk(), primary_key=True),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "sent_messages",
        sa.Column("device_id", sa.String(32), _device_fk(), primary_key=True),
        sa.Column("client_id", sa.String(128), primary_key=True),
        sa.Column("message_id", sa.String(32), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_sent_messages_ts", "sent_messages", ["ts"])


def downgrade() -> None:
    op.drop_index("ix_sent_messages_ts", table_name="sent_messages")
    op.drop_table("sent_messages")
    op.drop_table("fallback_keys")
    op.drop_table("one_time_keys")
    op.drop_index("ix_device_keys_user_id", table_name="device_keys")
    op.drop_table("device_keys")

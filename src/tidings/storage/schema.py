"""Table definitions (SQLAlchemy Core), shared by SQLite and PostgreSQL.

Times are integer milliseconds since the Unix epoch (UTC) so both engines store and
compare them the same way. Migrations in ``migrations/versions`` create these tables;
this module is the code's view of them and must match the newest migration.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("username", sa.String(32), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=True),
    sa.Column("role", sa.String(16), nullable=False, server_default="user"),
    sa.Column("display_name", sa.String(64), nullable=True),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    sa.Column("deleted_at", sa.BigInteger(), nullable=True),
    sa.Column("suspended_at", sa.BigInteger(), nullable=True),
)

devices = sa.Table(
    "devices",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("user_id", sa.BigInteger(), sa.ForeignKey("users.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    sa.Column("last_seen_at", sa.BigInteger(), nullable=False),
    sa.Column("stream_seq", sa.BigInteger(), nullable=False, server_default="0"),
)

stream_events = sa.Table(
    "stream_events",
    metadata,
    sa.Column("device_id", sa.String(32), sa.ForeignKey("devices.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("seq", sa.BigInteger(), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
)

# --- 0002: key directory and private messages -----------------------------------------

device_keys = sa.Table(
    "device_keys",
    metadata,
    sa.Column("device_id", sa.String(32), sa.ForeignKey("devices.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("user_id", sa.BigInteger(), sa.ForeignKey("users.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("curve25519", sa.String(64), nullable=False),
    sa.Column("ed25519", sa.String(64), nullable=False),
    sa.Column("record", sa.Text(), nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
)

one_time_keys = sa.Table(
    "one_time_keys",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("device_id", sa.String(32), sa.ForeignKey("devices.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("key_id", sa.String(64), nullable=False),
    sa.Column("record", sa.Text(), nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    sa.UniqueConstraint("device_id", "key_id", name="uq_one_time_keys_device_key"),
)

fallback_keys = sa.Table(
    "fallback_keys",
    metadata,
    sa.Column("device_id", sa.String(32), sa.ForeignKey("devices.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("key_id", sa.String(64), nullable=False),
    sa.Column("record", sa.Text(), nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
)

sent_messages = sa.Table(
    "sent_messages",
    metadata,
    sa.Column("device_id", sa.String(32), sa.ForeignKey("devices.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("client_id", sa.String(128), primary_key=True),
    sa.Column("message_id", sa.String(32), nullable=False),
    sa.Column("ts", sa.BigInteger(), nullable=False, index=True),
)

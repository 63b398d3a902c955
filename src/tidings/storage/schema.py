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
    # The username's confusable key (migration 0019): a new name may not share it.
    sa.Column("name_key", sa.String(64), nullable=True, index=True),
    sqlite_autoincrement=True,  # ids are never reused (migration 0011)
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


# --- Hash banks (migration 0004) -------------------------------------------------
# ``bank_version`` is a one-row counter. Every bank write transaction bumps it first,
# which takes a row lock until commit: versions therefore commit in order, and a
# process that applied every change up to N can read "version > N" without gaps.

banks = sa.Table(
    "banks",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
    sa.Column("thresholds", sa.Text(), nullable=True),
    sa.Column("description", sa.Text(), nullable=False, server_default=""),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    # Kinds (migration 0021): partner (exchange-sourced: matches hold for review),
    # trusted (a partner list whose matches may reject), negative (an allow list).
    sa.Column("partner", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("trusted", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("negative", sa.Boolean(), nullable=False, server_default=sa.false()),
)

bank_entries = sa.Table(
    "bank_entries",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("bank", sa.String(64), sa.ForeignKey("banks.name", ondelete="CASCADE"),
              nullable=False),
    sa.Column("signal_type", sa.String(32), nullable=False),
    sa.Column("value", sa.Text(), nullable=False),
    sa.Column("value_key", sa.String(64), nullable=False),
    sa.Column("labels", sa.Text(), nullable=False),
    sa.Column("source", sa.String(256), nullable=False, server_default=""),
    sa.Column("added_at", sa.BigInteger(), nullable=False),
    sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
    # What a byte hash was taken of (photo, video, file; NULL unknown): pytx names a
    # video's MD5 ``video_md5`` and has no photo MD5 (migration 0011).
    sa.Column("content_type", sa.String(16), nullable=True),
    # The banked item (file) the entry's signal was taken from; NULL: its own (0020).
    sa.Column("content_id", sa.BigInteger(), nullable=True),
    # Quarantine (migration 0021): an overlay on the live index, not a disable: the
    # matcher skips the entry until staff restore or disable it.
    sa.Column("quarantined_at", sa.BigInteger(), nullable=True),
    sa.Column("quarantine_reason", sa.String(32), nullable=True),
    # value_key leads: duplicate checks probe it directly whatever the planner's
    # statistics say about a bank's size (bank first made PostgreSQL scan the bank).
    sa.UniqueConstraint("value_key", "bank", "signal_type", name="uq_bank_entries_value"),
    sa.Index("ix_bank_entries_bank_id", "bank", "id"),
)

bank_changes = sa.Table(
    "bank_changes",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("version", sa.BigInteger(), nullable=False, index=True),
    sa.Column("entry_id", sa.BigInteger(), nullable=True),
    sa.Column("bank", sa.String(64), nullable=False),
    sa.Column("op", sa.String(8), nullable=False),
    sa.Column("at", sa.BigInteger(), nullable=False),
)

bank_version = sa.Table(
    "bank_version",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("version", sa.BigInteger(), nullable=False),
    sa.Column("epoch", sa.String(32), nullable=False),
    # Random per database: a snapshot taken against another database is never
    # mistaken for this one's (a restored backup keeps it: delete the snapshot then).
)

entry_hits = sa.Table(
    "entry_hits",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("entry_id", sa.BigInteger(), nullable=False),
    sa.Column("item", sa.String(64), nullable=False),
    # ``item``: a hash of the content's signals of the entry's type (what matched).
    sa.Column("uploader", sa.BigInteger(), nullable=True),
    sa.Column("at", sa.BigInteger(), nullable=False),
    sa.Index("ix_entry_hits_entry_at", "entry_id", "at"),
)

entry_feedback = sa.Table(
    "entry_feedback",
    metadata,
    sa.Column("entry_id", sa.BigInteger(), primary_key=True),
    sa.Column("case_id", sa.String(32), primary_key=True),
    sa.Column("at", sa.BigInteger(), nullable=False),
)

bank_exchanges = sa.Table(
    "bank_exchanges",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("exchange_type", sa.String(32), nullable=False),
    sa.Column("bank", sa.String(64), sa.ForeignKey("banks.name", ondelete="CASCADE"),
              nullable=False),
    sa.Column("credentials_ref", sa.String(128), nullable=False, server_default=""),
    sa.Column("config", sa.Text(), nullable=False, server_default="{}"),
    sa.Column("labels", sa.Text(), nullable=False, server_default="[]"),
    sa.Column("checkpoint", sa.Text(), nullable=True),
    sa.Column("last_fetch_at", sa.BigInteger(), nullable=True),
    # Schedule and status (migration 0011): fetch every ``interval_s`` (NULL = only on
    # request); ``failures`` in a row push ``next_run_at`` back exponentially; ``status``
    # is JSON (last success and error, counts of the last run and in total, rejections
    # by reason, progress of a running fetch).
    sa.Column("interval_s", sa.Integer(), nullable=True),
    sa.Column("next_run_at", sa.BigInteger(), nullable=True),
    sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("status", sa.Text(), nullable=False, server_default="{}"),
)


# --- Background jobs (migration 0005) ---------------------------------------------
jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("payload", sa.Text(), nullable=False),
    sa.Column("state", sa.String(16), nullable=False, server_default="queued"),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("max_attempts", sa.Integer(), nullable=False),
    sa.Column("run_after", sa.BigInteger(), nullable=False),
    sa.Column("leased_by", sa.String(96), nullable=True),
    sa.Column("lease_until", sa.BigInteger(), nullable=True),
    sa.Column("progress_done", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("progress_total", sa.BigInteger(), nullable=True),
    sa.Column("result", sa.Text(), nullable=True),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("dedupe_key", sa.String(200), nullable=True, unique=True),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    sa.Column("updated_at", sa.BigInteger(), nullable=False),
    sa.Index("ix_jobs_state_run_after", "state", "run_after"),
)

"""Outbound webhooks (migration 0010): endpoints and their delivery log."""

from __future__ import annotations

import sqlalchemy as sa

from tidings.storage.schema import metadata

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

webhook_endpoints = sa.Table(
    "webhook_endpoints", metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("url", sa.Text(), nullable=False),
    sa.Column("events", sa.Text(), nullable=False),
    sa.Column("secret", sa.String(96), nullable=False),
    sa.Column("description", sa.String(200), nullable=False, server_default=""),
    sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
    sa.Column("created_by", sa.String(96), nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    sqlite_autoincrement=True,
)

webhook_deliveries = sa.Table(
    "webhook_deliveries", metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("endpoint_id", sa.BigInteger(),
              sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False),
    sa.Column("event", sa.String(48), nullable=False),
    sa.Column("event_key", sa.String(160), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("last_status", sa.Integer(), nullable=True),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    sa.Column("delivered_at", sa.BigInteger(), nullable=True),
    sa.UniqueConstraint("endpoint_id", "event_key", name="uq_webhook_deliveries_event"),
    sa.Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
    sqlite_autoincrement=True,
)

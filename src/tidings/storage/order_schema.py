"""Tables of removal orders, authority accounts and preservation (migration 0009).

Registered on the shared metadata like ``action_schema.py``. The ``removal_orders``
columns are a contract with the transparency report (see moderation/transparency.py
``OrderRecord``): received = ``received_ms``, completed = ``completed_ms``,
not complied reason = ``cannot_comply_reason``. Never rename them.
"""

from __future__ import annotations

import sqlalchemy as sa

from tidings.storage.schema import metadata

authorities = sa.Table(
    "authorities", metadata,
    sa.Column("user_id", sa.BigInteger(), sa.ForeignKey("users.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("authority_name", sa.String(200), nullable=False),
    sa.Column("member_state", sa.String(2), nullable=False),
    sa.Column("created_ms", sa.BigInteger(), nullable=False),
)

removal_orders = sa.Table(
    "removal_orders", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("authority_user_id", sa.BigInteger(), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("authority_name", sa.String(200), nullable=False),
    sa.Column("member_state", sa.String(2), nullable=False),
    sa.Column("reference", sa.String(200), nullable=False),
    sa.Column("target_kind", sa.String(16), nullable=False),
    sa.Column("target_ref", sa.String(160), nullable=False),
    sa.Column("target_url", sa.Text(), nullable=True),
    sa.Column("legal_basis", sa.Text(), nullable=False),
    sa.Column("reasons", sa.Text(), nullable=False),
    sa.Column("label", sa.String(64), nullable=False),
    sa.Column("withhold_until_ms", sa.BigInteger(), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("received_ms", sa.BigInteger(), nullable=False),
    sa.Column("completed_ms", sa.BigInteger(), nullable=True),
    sa.Column("cannot_comply_reason", sa.String(32), nullable=True),
    sa.Column("cannot_comply_details", sa.Text(), nullable=True),
    sa.Column("answered_ms", sa.BigInteger(), nullable=True),
    sa.Column("confirmation", sa.Text(), nullable=True),
    sa.Column("affected_user_id", sa.BigInteger(), nullable=True),
    sa.Column("withhold_extensions", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("notice_sent_ms", sa.BigInteger(), nullable=True),
    sa.Column("case_id", sa.String(24), nullable=True),
    # migration 0011: the order's legal scope and its confirmation (issue 17)
    sa.Column("basis", sa.String(16), nullable=False, server_default="tco_art3"),
    sa.Column("category", sa.String(80), nullable=True),
    sa.Column("territorial_scope", sa.Text(), nullable=True),
    sa.Column("needs_confirmation", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("confirmed_ms", sa.BigInteger(), nullable=True),
    sa.Column("confirmed_by", sa.String(64), nullable=True),
    sa.UniqueConstraint("authority_user_id", "reference",
                        name="uq_removal_orders_authority_reference"),
    sa.Index("ix_removal_orders_status", "status", "received_ms"),
    sa.Index("ix_removal_orders_target", "target_kind", "target_ref"),
    sa.Index("ix_removal_orders_authority_received", "authority_user_id", "received_ms"),
)

preservations = sa.Table(
    "preservations", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("target_kind", sa.String(16), nullable=False),
    sa.Column("target_ref", sa.String(160), nullable=False),
    sa.Column("cause", sa.String(16), nullable=False),
    sa.Column("order_id", sa.String(40), nullable=True),
    sa.Column("case_id", sa.String(24), nullable=True),
    sa.Column("authority_user_id", sa.BigInteger(), nullable=True),
    sa.Column("record", sa.Text(), nullable=False),
    sa.Column("created_ms", sa.BigInteger(), nullable=False),
    sa.Column("expires_ms", sa.BigInteger(), nullable=False),
    sa.Column("extensions", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("restored_ms", sa.BigInteger(), nullable=True),
    sa.Column("purged_ms", sa.BigInteger(), nullable=True),
    sa.Index("ix_preservations_target", "target_kind", "target_ref"),
    sa.Index("ix_preservations_expiry", "purged_ms", "expires_ms"),
    sa.Index("ix_preservations_order", "order_id"),
)

preserved_blobs = sa.Table(
    "preserved_blobs", metadata,
    sa.Column("preservation_id", sa.String(40),
              sa.ForeignKey("preservations.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("size", sa.BigInteger(), nullable=False),
    sa.Index("ix_preserved_blobs_sha256", "sha256"),
)

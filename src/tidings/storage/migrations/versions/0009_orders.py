"""Removal orders (TCO Art. 3), authority accounts and the preservation store (Art. 6).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "authorities",
        sa.Column("user_id", sa.BigInteger(), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("authority_name", sa.String(200), nullable=False),
        sa.Column("member_state", sa.String(2), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "removal_orders",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("authority_user_id", sa.BigInteger(), sa.ForeignKey("users.id"),
                  nullable=False),
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
        # feat-orders' own columns (the contract allows additions)
        sa.Column("affected_user_id", sa.BigInteger(), nullable=True),
        sa.Column("withhold_extensions", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("notice_sent_ms", sa.BigInteger(), nullable=True),
        sa.Column("case_id", sa.String(24), nullable=True),
        sa.UniqueConstraint("authority_user_id", "reference",
                            name="uq_removal_orders_authority_reference"),
    )
    op.create_index("ix_removal_orders_status", "removal_orders", ["status", "received_ms"])
    op.create_index("ix_removal_orders_target", "removal_orders", ["target_kind", "target_ref"])
    op.create_table(
        "preservations",
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
    )
    op.create_index("ix_preservations_target", "preservations", ["target_kind", "target_ref"])
    op.create_index("ix_preservations_expiry", "preservations", ["purged_ms", "expires_ms"])
    op.create_index("ix_preservations_order", "preservations", ["order_id"])
    op.create_table(
        "preserved_blobs",
        sa.Column("preservation_id", sa.String(40),
                  sa.ForeignKey("preservations.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_preserved_blobs_sha256", "preserved_blobs", ["sha256"])


def downgrade() -> None:
    op.drop_index("ix_preserved_blobs_sha256", table_name="preserved_blobs")
    op.drop_table("preserved_blobs")
    for index in ("ix_preservations_order", "ix_preservations_expiry",
                  "ix_preservations_target"):
        op.drop_index(index, table_name="preservations")
    op.drop_table("preservations")
    for index in ("ix_removal_orders_target", "ix_removal_orders_status"):
        op.drop_index(index, table_name="removal_orders")
    op.drop_table("removal_orders")
    op.drop_table("authorities")

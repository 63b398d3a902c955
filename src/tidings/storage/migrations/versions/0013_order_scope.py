"""Orders within the law (issue 17): the legal basis of an order (TCO Art. 3 or DSA
Art. 9), its DSA category and territorial scope, and an admin's confirmation when an
authority sends more orders an hour than configured.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_COLUMNS = ("basis", "category", "territorial_scope", "needs_confirmation", "confirmed_ms",
            "confirmed_by")


def upgrade() -> None:
    # Orders received before this revision were all TCO removal orders.
    op.add_column("removal_orders", sa.Column("basis", sa.String(16), nullable=False,
                                              server_default="tco_art3"))
    op.add_column("removal_orders", sa.Column("category", sa.String(80), nullable=True))
    op.add_column("removal_orders", sa.Column("territorial_scope", sa.Text(), nullable=True))
    op.add_column("removal_orders", sa.Column("needs_confirmation", sa.Boolean(),
                                              nullable=False, server_default=sa.false()))
    op.add_column("removal_orders", sa.Column("confirmed_ms", sa.BigInteger(), nullable=True))
    op.add_column("removal_orders", sa.Column("confirmed_by", sa.String(64), nullable=True))
    op.create_index("ix_removal_orders_authority_received", "removal_orders",
                    ["authority_user_id", "received_ms"])


def downgrade() -> None:
    op.drop_index("ix_removal_orders_authority_received", table_name="removal_orders")
    for column in reversed(_COLUMNS):
        op.drop_column("removal_orders", column)

"""Bank entries keep what a byte hash was taken of; exchanges get a schedule and status.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("bank_entries", sa.Column("content_type", sa.String(16), nullable=True))
    op.add_column("bank_exchanges", sa.Column("interval_s", sa.Integer(), nullable=True))
    op.add_column("bank_exchanges", sa.Column("next_run_at", sa.BigInteger(), nullable=True))
    op.add_column("bank_exchanges", sa.Column("failures", sa.Integer(), nullable=False,
                                              server_default="0"))
    op.add_column("bank_exchanges", sa.Column("status", sa.Text(), nullable=False,
                                              server_default="{}"))


def downgrade() -> None:
    for column in ("status", "failures", "next_run_at", "interval_s"):
        op.drop_column("bank_exchanges", column)
    op.drop_column("bank_entries", "content_type")

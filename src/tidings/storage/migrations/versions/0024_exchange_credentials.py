"""Partner credentials sealed at rest (AES-256-GCM), one row per exchange type, set
through the HMA API's ``/c/exchanges/api/<api>`` (issue 19 item 3).

Revision ID: 0024
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exchange_credentials",
        sa.Column("exchange_type", sa.String(32), primary_key=True),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("exchange_credentials")

"""Bank entries name the banked item they were taken from (HMA's bank content id).

Revision ID: 0020
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("bank_entries", sa.Column("content_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("bank_entries", "content_id")

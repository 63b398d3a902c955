"""A banned channel's own link domains in its fingerprint (issue 24 item 1).

Revision ID: 0025
Revises: 0023
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channel_fingerprints") as batch:
        batch.add_column(sa.Column("domains", sa.Text(), nullable=False,
                                   server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("channel_fingerprints") as batch:
        batch.drop_column("domains")

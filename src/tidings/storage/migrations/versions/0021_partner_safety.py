"""Partner-signal safety: bank kinds (partner, trusted, negative), quarantined entries,
recent matches per entry (the quarantine's window) and "no violation" feedback.

Revision ID: 0021
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for column in ("partner", "trusted", "negative"):
        op.add_column("banks", sa.Column(column, sa.Boolean(), nullable=False,
                                         server_default=sa.false()))
    # A bank an exchange feeds is a partner bank: its matches hold for review.
    op.execute("UPDATE banks SET partner = TRUE WHERE name IN "
               "(SELECT bank FROM bank_exchanges)")
    op.add_column("bank_entries", sa.Column("quarantined_at", sa.BigInteger(), nullable=True))
    op.add_column("bank_entries", sa.Column("quarantine_reason", sa.String(32),
                                            nullable=True))
    op.create_table(
        "entry_hits",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  primary_key=True, autoincrement=True),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("item", sa.String(64), nullable=False),
        sa.Column("uploader", sa.BigInteger(), nullable=True),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Index("ix_entry_hits_entry_at", "entry_id", "at"),
    )
    op.create_table(
        "entry_feedback",
        sa.Column("entry_id", sa.BigInteger(), primary_key=True),
        sa.Column("case_id", sa.String(32), primary_key=True),
        sa.Column("at", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("entry_feedback")
    op.drop_table("entry_hits")
    op.drop_column("bank_entries", "quarantine_reason")
    op.drop_column("bank_entries", "quarantined_at")
    for column in ("negative", "trusted", "partner"):
        op.drop_column("banks", column)

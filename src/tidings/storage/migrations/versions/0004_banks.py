"""Hash banks: banks, entries, the change log and its version counter, exchanges.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "banks",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("thresholds", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "bank_entries",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("bank", sa.String(64), sa.ForeignKey("banks.name", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("signal_type", sa.String(32), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("value_key", sa.String(64), nullable=False),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("source", sa.String(256), nullable=False, server_default=""),
        sa.Column("added_at", sa.BigInteger(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        # value_key leads: duplicate checks probe it directly whatever the planner's
        # statistics say about a bank's size (bank first made PostgreSQL scan the bank).
        sa.UniqueConstraint("value_key", "bank", "signal_type", name="uq_bank_entries_value"),
    )
    op.create_index("ix_bank_entries_bank_id", "bank_entries", ["bank", "id"])
    op.create_table(
        "bank_changes",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=True),
        sa.Column("bank", sa.String(64), nullable=False),
        sa.Column("op", sa.String(8), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_bank_changes_version", "bank_changes", ["version"])
    op.create_table(
        "bank_version",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("epoch", sa.String(32), nullable=False),
    )
    op.execute(sa.text("INSERT INTO bank_version (id, version, epoch) VALUES (1, 0, :epoch)")
               .bindparams(epoch=secrets.token_hex(16)))
    op.create_table(
        "bank_exchanges",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("exchange_type", sa.String(32), nullable=False),
        sa.Column("bank", sa.String(64), sa.ForeignKey("banks.name", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("credentials_ref", sa.String(128), nullable=False, server_default=""),
        sa.Column("config", sa.Text(), nullable=False, server_default="{}"),
        sa.Column("labels", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("checkpoint", sa.Text(), nullable=True),
        sa.Column("last_fetch_at", sa.BigInteger(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("bank_exchanges")
    op.drop_table("bank_version")
    op.drop_index("ix_bank_changes_version", table_name="bank_changes")
    op.drop_table("bank_changes")
    op.drop_index("ix_bank_entries_bank_id", table_name="bank_entries")
    op.drop_table("bank_entries")
    op.drop_table("banks")

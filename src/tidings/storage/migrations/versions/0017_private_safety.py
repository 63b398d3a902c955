"""Key-claim log, contacts (requests and blocks) and group invitations (issue 20).

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "key_claims",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("claimer_id", sa.BigInteger(), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("device_id", sa.String(32), sa.ForeignKey("devices.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("claimed_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_key_claims_device", "key_claims", ["device_id", "claimed_at"])
    op.create_index("ix_key_claims_claimer", "key_claims",
                    ["claimer_id", "device_id", "claimed_at"])
    op.create_index("ix_key_claims_claimed_at", "key_claims", ["claimed_at"])
    op.create_table(
        "contacts",
        sa.Column("owner_id", sa.BigInteger(), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("peer_id", sa.BigInteger(), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("changed_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_contacts_peer", "contacts", ["peer_id", "state"])
    op.create_table(
        "group_invitations",
        sa.Column("group_id", sa.String(32), sa.ForeignKey("groups.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("user_id", sa.BigInteger(), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("inviter_id", sa.BigInteger(), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("admin", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_group_invitations_user", "group_invitations",
                    ["user_id", "state", "expires_at"])
    op.create_index("ix_group_invitations_inviter", "group_invitations",
                    ["inviter_id", "expires_at"])


def downgrade() -> None:
    op.drop_index("ix_group_invitations_inviter", table_name="group_invitations")
    op.drop_index("ix_group_invitations_user", table_name="group_invitations")
    op.drop_table("group_invitations")
    op.drop_index("ix_contacts_peer", table_name="contacts")
    op.drop_table("contacts")
    for index in ("ix_key_claims_claimed_at", "ix_key_claims_claimer", "ix_key_claims_device"):
        op.drop_index(index, table_name="key_claims")
    op.drop_table("key_claims")

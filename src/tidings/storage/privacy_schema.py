"""Tables that keep private messaging from being turned against its users (migration 0011).

* ``key_claims``: who took a fresh one-time key of which device, and when, so claims can
  be limited per (claimer, device) and per device (services/keys.py).
* ``contacts``: one row per (owner, peer) saying how the owner stands towards the peer:
  ``accepted`` (the owner wrote to the peer, or accepted their request), ``request``
  (the peer wrote first and the owner has not decided) or ``blocked``. Only the owner
  reads or changes their rows (services/contacts.py).
* ``group_invitations``: being added to a group is an invitation until accepted
  (services/invitations.py).
"""

from __future__ import annotations

import sqlalchemy as sa

from tidings.storage.schema import metadata

key_claims = sa.Table(
    "key_claims",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("claimer_id", sa.BigInteger(), sa.ForeignKey("users.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("device_id", sa.String(32), sa.ForeignKey("devices.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("claimed_at", sa.BigInteger(), nullable=False),
    sa.Index("ix_key_claims_device", "device_id", "claimed_at"),
    sa.Index("ix_key_claims_claimer", "claimer_id", "device_id", "claimed_at"),
    sa.Index("ix_key_claims_claimed_at", "claimed_at"),
)

contacts = sa.Table(
    "contacts",
    metadata,
    sa.Column("owner_id", sa.BigInteger(), sa.ForeignKey("users.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("peer_id", sa.BigInteger(), sa.ForeignKey("users.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("changed_at", sa.BigInteger(), nullable=False),
    sa.Index("ix_contacts_peer", "peer_id", "state"),
)

group_invitations = sa.Table(
    "group_invitations",
    metadata,
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
    sa.Index("ix_group_invitations_user", "user_id", "state", "expires_at"),
    sa.Index("ix_group_invitations_inviter", "inviter_id", "expires_at"),
)

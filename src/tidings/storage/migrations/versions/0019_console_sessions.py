"""Server-side console sessions and the username lookalike key (issue 20 item 7).

* ``console_sessions``: one row per web console login (storage/console_sessions.py).
  The cookie holds a random session id; the row keeps only its keyed hash, the
  session's CSRF secret and the times the idle and absolute timeouts are measured from.
* ``users.name_key``: the username's confusable key (``protocol/confusables.handle_key``)
  so a new name is compared with every existing one by an indexed lookup. Not unique:
  names taken before this revision may already collide; new ones cannot.

Revision ID: 0019
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tidings.protocol.names import name_key

revision = "0019"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.BigInteger(), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_console_sessions_user", "console_sessions", ["user_id"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("name_key", sa.String(64), nullable=True))
    conn = op.get_bind()
    users = sa.table("users", sa.column("id", sa.BigInteger()), sa.column("username", sa.String()),
                     sa.column("name_key", sa.String()))
    for user_id, username in conn.execute(sa.select(users.c.id, users.c.username)).all():
        conn.execute(users.update().where(users.c.id == user_id)
                     .values(name_key=name_key(username)))
    op.create_index("ix_users_name_key", "users", ["name_key"])


def downgrade() -> None:
    op.drop_index("ix_users_name_key", "users")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("name_key")
    op.drop_index("ix_console_sessions_user", "console_sessions")
    op.drop_table("console_sessions")

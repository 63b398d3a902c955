"""Alembic environment: runs on a connection handed in by ``tidings.storage.migrate``."""

from __future__ import annotations

from alembic import context

from tidings.storage.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable through the alembic CLI
    raise RuntimeError("run migrations with `tidings db upgrade`, not the alembic command")

context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()

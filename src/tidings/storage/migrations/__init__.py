"""Alembic migrations, numbered; applied by ``tidings db upgrade``."""

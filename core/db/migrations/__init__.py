"""Alembic migrations of the metadata store (run by `core.db.migrate`)."""

"""Alembic's environment: run on the connection `core.db.migrate` hands over."""

from __future__ import annotations

from alembic import context

from core.db.schema import metadata

connection = context.config.attributes["connection"]
# Batch mode rebuilds SQLite tables for the ALTERs SQLite cannot do in place.
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

"""Schema migrations on start: from an empty database, or from the schema that shipped first.

Every process calls `upgrade` when it opens the store; the first one to get the lock migrates
and the others find nothing left to do. PostgreSQL serialises them with a transaction-scoped
advisory lock, SQLite with the write lock `BEGIN IMMEDIATE` takes.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, inspect, text

from core.db.engine import Database

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
BASELINE = "0001"
# Any fixed number: it names "the schema migration" among PostgreSQL advisory locks.
_LOCK_KEY = 0x6B62_6D69  # "kbmi"


def alembic_config(conn: Connection) -> Config:
    """Alembic's configuration, pointed at our migrations, running on `conn`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    return config


def upgrade(db: Database) -> None:
    """Bring the schema to the newest revision; safe to call from many processes at once."""
    with db.engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn:
        if db.is_sqlite:
            # A batch migration rebuilds a SQLite table by drop and rename; with foreign keys
            # on, dropping `jobs` would cascade into `job_files`. (Only settable outside a
            # transaction, hence on the driver's connection, before ours begins.)
            conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            with conn.begin():
                if not db.is_sqlite:
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
                config = alembic_config(conn)
                if _predates_migrations(conn):
                    logger.info("stamping a database created before migrations as %s", BASELINE)
                    command.stamp(config, BASELINE)
                command.upgrade(config, "head")
        finally:
            if db.is_sqlite:
                conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def _predates_migrations(conn: Connection) -> bool:
    tables = set(inspect(conn).get_table_names())
    return "knowledge_bases" in tables and "alembic_version" not in tables


def current_revision(db: Database) -> str | None:
    """The revision the database is at (None: never migrated)."""
    with db.read() as conn:
        if "alembic_version" not in inspect(conn).get_table_names():
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()

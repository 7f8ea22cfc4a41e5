"""`Database`: an SQLAlchemy engine for SQLite or PostgreSQL, with explicit read and write scopes.

Writers on SQLite take the write lock when their transaction begins (`BEGIN IMMEDIATE`), so a
read-then-write never fails half-way with "database is locked"; readers use WAL snapshots.
On PostgreSQL every write is an ordinary READ COMMITTED transaction whose row locks do the
ordering, and `snapshot()` reads several tables as of one moment (REPEATABLE READ).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Float, create_engine, event, func, literal
from sqlalchemy.sql.elements import ColumnElement

from core.errors import ConfigurationError

SQLITE_FILE = "registry.sqlite3"


def database_url(url: str | None, data_dir: Path) -> str:
    """The configured URL in SQLAlchemy's spelling, or the SQLite file in the data folder."""
    if not url:
        return f"sqlite:///{data_dir / SQLITE_FILE}"
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            # psycopg 3 is the driver we ship; SQLAlchemy's default would be psycopg2.
            return "postgresql+psycopg://" + url[len(plain) :]
    if url.startswith(("postgresql+psycopg://", "sqlite:///")):
        return url
    raise ConfigurationError(
        f"unsupported KB_DATABASE_URL {url!r}: use postgresql://user:password@host/db "
        "(or leave it unset for SQLite in the data folder)"
    )


class Database:
    """One engine (a connection pool) per process; share it between the repositories."""

    def __init__(self, url: str, *, pool_size: int = 5) -> None:
        self.url = url
        if url.startswith("sqlite"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(url, connect_args={"timeout": 30})
            _sqlite_pragmas(self.engine)
        else:
            self.engine = create_engine(
                url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
            )
        self.dialect: str = self.engine.dialect.name

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads; each statement sees what was committed before it."""
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """Several reads that all see the same committed state."""
        options: dict[str, Any] = {} if self.is_sqlite else {"isolation_level": "REPEATABLE READ"}
        with self.engine.connect().execution_options(**options) as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction: everything inside commits together or not at all."""
        connection = self.engine.connect().execution_options(sqlite_begin="IMMEDIATE")
        with connection as conn, conn.begin():
            yield conn

    def now(self) -> ColumnElement[float]:
        """Seconds since the epoch by the database's clock, which every host shares.

        Leases are compared with this, never with a worker's own clock, so workers on hosts
        whose clocks disagree still agree on when a lease ran out.
        """
        if self.is_sqlite:
            return (func.julianday("now") - literal(2440587.5)) * literal(86400.0)
        return func.extract("epoch", func.clock_timestamp()).cast(Float)

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN, instead of pysqlite's own
        # implicit transactions, so that writers can ask for BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

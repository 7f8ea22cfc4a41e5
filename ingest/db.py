"""The SQLite file in the data folder: schema, connection and transactions.

WAL mode lets readers carry on while a writer commits; every multi-row change (replacing a
document's generation, deleting a knowledge base) happens inside one transaction.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS knowledge_bases (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    kb TEXT NOT NULL REFERENCES knowledge_bases(name),
    source TEXT NOT NULL,
    title TEXT NOT NULL,
    pages INTEGER NOT NULL,
    chunks INTEGER NOT NULL,
    status TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    generation TEXT NOT NULL,
    parser TEXT NOT NULL,
    metadata TEXT NOT NULL,
    ingested_at TEXT NOT NULL,
    UNIQUE (kb, source)
);
CREATE INDEX IF NOT EXISTS documents_sha ON documents (kb, sha256);
-- Generations whose chunks queries must not see: being written, or replaced and awaiting purge.
CREATE TABLE IF NOT EXISTS hidden_generations (
    generation TEXT PRIMARY KEY,
    kb TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('staged', 'retired')),
    since TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kb TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    error TEXT
);
CREATE TABLE IF NOT EXISTS job_files (
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    stored_path TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    outcome TEXT,
    reason TEXT,
    message TEXT,
    doc_id TEXT,
    pages INTEGER NOT NULL DEFAULT 0,
    chunks INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, position)
);
"""


def utc_now() -> str:
    """ISO 8601 timestamp in UTC, second precision."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class Database:
    """One connection shared by threads, serialised by a lock (SQLite writes are serial anyway)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self.lock = threading.RLock()
        with self.lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.executescript(SCHEMA)

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: everything inside commits together or not at all."""
        with self.lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        with self.lock:
            return self._conn.execute(sql, params).fetchall()

    def close(self) -> None:
        with self.lock:
            self._conn.close()

"""Schema migrations: from an empty database on both backends, and from the schema that
shipped before migrations (an existing data folder upgrades in place, nothing lost)."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

from core.db.engine import Database, database_url
from core.db.migrate import current_revision, upgrade
from core.db.schema import counters, documents, hidden_generations, job_files, jobs, metadata

HEAD = "0005"

# What `ingest/db.py` and `serving/feedback/store.py` created before there were migrations
# (commit 090e7ac), verbatim: the starting point of every data folder made until then.
LEGACY_REGISTRY = """
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

LEGACY_FEEDBACK = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    model TEXT,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment TEXT NOT NULL,
    citations TEXT NOT NULL
);
"""


def legacy_folder(data: Path, uploaded: Path) -> None:
    """A data folder as the last release left it: a document, a staged generation of a
    crashed ingestion, a queued upload job, a rating and a promoted model alias."""
    data.mkdir(parents=True)
    with sqlite3.connect(data / "registry.sqlite3") as conn:
        conn.executescript(LEGACY_REGISTRY)
        conn.execute(
            "INSERT INTO knowledge_bases VALUES ('hr', 'people', '2026-11-01T00:00:00+00:00')"
        )
        conn.execute(
            "INSERT INTO documents VALUES ('d1', 'hr', 'a.txt', 'A', 1, 2, 'ready', 'ab12', 10,"
            " 'g1', 'text', '{}', '2026-11-01T00:00:00+00:00')"
        )
        conn.execute(
            "INSERT INTO hidden_generations VALUES ('g0', 'hr', 'd1', 'staged',"
            " '2026-11-01T00:00:00+00:00')"
        )
        conn.execute("INSERT INTO meta VALUES ('index', 'all-MiniLM-L6-v2 (384d) + bm25-v2')")
        conn.execute(
            "INSERT INTO jobs (id, kb, status, created_at) VALUES ('j1', 'hr', 'queued',"
            " '2026-11-01T00:00:00+00:00')"
        )
        conn.execute(
            "INSERT INTO job_files (job_id, position, name, stored_path, size_bytes)"
            " VALUES ('j1', 0, 'b.txt', ?, 5)",
            (str(uploaded),),
        )
    with sqlite3.connect(data / "feedback.sqlite3") as conn:
        conn.executescript(LEGACY_FEEDBACK)
        conn.execute(
            "INSERT INTO feedback (created_at, model, question, answer, rating, comment,"
            " citations) VALUES ('2026-11-02T00:00:00+00:00', 'kb/hr', 'Q?', 'A [1]', 5, '', '[]')"
        )
    (data / "model-alias.json").write_text(json.dumps({"model": "kb-lora-v0001"}))


def _missing(db: Database) -> dict[str, set[str]]:
    """Tables and columns the code uses that the database lacks.

    (For legacy SQLite files: Alembic's full comparison also reports SQLite reflection noise
    there - INTEGER vs BIGINT, which SQLite stores alike, and TEXT primary keys that SQLite
    reports as nullable - which changes nothing.)
    """
    found = inspect(db.engine)
    tables = set(found.get_table_names())
    return {
        name: {c.name for c in table.columns}
        - ({c["name"] for c in found.get_columns(name)} if name in tables else set())
        for name, table in metadata.tables.items()
        if name not in tables
        or {c.name for c in table.columns} - {c["name"] for c in found.get_columns(name)}
    }


def _differences(db: Database) -> list[object]:
    with db.read() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), metadata))


def test_an_empty_database_migrates_to_the_schema_the_code_uses(tmp_path, metadata_url):
    db = Database(database_url(metadata_url, tmp_path))
    try:
        assert current_revision(db) is None
        upgrade(db)
        upgrade(db)  # a second process starting finds nothing to do
        assert current_revision(db) == HEAD
        assert _differences(db) == []
        with db.read() as conn:
            names = dict(conn.execute(select(counters.c.name, counters.c.value)).all())
        assert names == {"registry": 0, "feedback": 0, "access": 0}
    finally:
        db.close()


def test_processes_starting_together_migrate_once(postgres_url, tmp_path):
    databases = [Database(database_url(postgres_url, tmp_path)) for _ in range(4)]
    errors: list[BaseException] = []

    def start(db: Database) -> None:
        try:
            upgrade(db)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(db,)) for db in databases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert current_revision(databases[0]) == HEAD
    finally:
        for db in databases:
            db.close()


def test_a_data_folder_from_before_migrations_upgrades_in_place(tmp_path):
    data = tmp_path / "data"
    legacy_folder(data, tmp_path / "b.txt")
    db = Database(database_url(None, data))
    try:
        upgrade(db)
        assert current_revision(db) == HEAD
        assert _missing(db) == {}
        with db.read() as conn:
            doc = conn.execute(select(documents)).mappings().one()
            hidden = conn.execute(select(hidden_generations)).mappings().one()
            job = conn.execute(select(jobs)).mappings().one()
            file = conn.execute(select(job_files)).mappings().one()
        assert (doc["id"], doc["generation"], doc["size_bytes"]) == ("d1", "g1", 10)
        assert (hidden["state"], hidden["task"], hidden["seq"]) == ("staged", None, None)
        assert (job["status"], job["claimable_by"]) == ("queued", None)
        assert (file["stored_path"], file["upload"]) == (str(tmp_path / "b.txt"), True)
        assert (file["attempts"], file["lease_expires"]) == (0, None)
        assert {c["name"] for c in inspect(db.engine).get_columns("knowledge_bases")} >= {"version"}
    finally:
        db.close()


@pytest.mark.parametrize("table", ["documents", "jobs", "job_files"])
def test_upgrading_twice_keeps_every_row(tmp_path, table):
    data = tmp_path / "data"
    legacy_folder(data, tmp_path / "b.txt")
    db = Database(database_url(None, data))
    try:
        upgrade(db)
        with db.read() as conn:
            before = conn.execute(select(metadata.tables[table])).all()
        upgrade(db)
        with db.read() as conn:
            assert conn.execute(select(metadata.tables[table])).all() == before
    finally:
        db.close()

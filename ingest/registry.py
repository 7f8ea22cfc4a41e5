"""The document registry: knowledge bases, documents and which chunk generations are live.

A document's identity is (knowledge base, source name). Each ingested version gets a fresh
`generation`; its chunks are written while the generation is *staged* (hidden from queries),
then one transaction makes it live and *retires* the previous one. Queries exclude every
hidden generation, so they see exactly one version at any moment; retired chunks are purged
after a grace period that outlasts any query still using the old snapshot.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from sqlite3 import Connection, Row
from typing import Any

from core.errors import ConfigurationError, Conflict, InvalidRequest, NotFound
from ingest.db import Database, utc_now

KB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class KnowledgeBase:
    """A named collection of documents."""

    name: str
    description: str
    created_at: str
    documents: int = 0
    chunks: int = 0


@dataclass(frozen=True)
class DocumentRecord:
    """One live document version."""

    id: str
    kb: str
    source: str
    title: str
    pages: int
    chunks: int
    sha256: str
    size_bytes: int
    generation: str
    parser: str
    ingested_at: str
    status: str = "ready"
    metadata: dict[str, str] = field(default_factory=dict)


def document_id(kb: str, source: str) -> str:
    """Stable across versions, so links to a document survive re-ingestion."""
    return hashlib.sha256(f"{kb}\0{source}".encode()).hexdigest()[:20]


def _document(row: Row) -> DocumentRecord:
    values: dict[str, Any] = dict(row)
    values["metadata"] = json.loads(values["metadata"])
    return DocumentRecord(**values)


class Registry:
    """Reads and writes the registry tables; every method is one short transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db
        # Every query asks for these two; this process is the folder's only writer, so
        # caching them until our next write is exact, and saves two SQLite reads per query.
        self._hidden: frozenset[str] | None = None
        self._names: frozenset[str] | None = None

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        # Under the database lock, so that no reader caches what this write replaces.
        with self._db.lock:
            try:
                with self._db.tx() as conn:
                    yield conn
            finally:
                self._hidden = self._names = None

    # -- knowledge bases -------------------------------------------------------------------
    def create_kb(self, name: str, description: str = "") -> KnowledgeBase:
        if not KB_NAME.match(name):
            raise InvalidRequest(
                f"invalid knowledge base name {name!r}: use 1-64 letters, digits, '.', '_' "
                "or '-', starting with a letter or digit",
                param="name",
            )
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM knowledge_bases WHERE name=?", (name,)).fetchone():
                raise Conflict(f"knowledge base {name!r} already exists")
            conn.execute(
                "INSERT INTO knowledge_bases (name, description, created_at) VALUES (?, ?, ?)",
                (name, description, utc_now()),
            )
        return self.get_kb(name)

    def kb_names(self) -> frozenset[str]:
        with self._db.lock:
            if self._names is None:
                rows = self._db.query("SELECT name FROM knowledge_bases")
                self._names = frozenset(row["name"] for row in rows)
            return self._names

    def get_kb(self, name: str) -> KnowledgeBase:
        for kb in self.list_kbs():
            if kb.name == name:
                return kb
        raise NotFound(f"knowledge base {name!r} does not exist")

    def list_kbs(self) -> list[KnowledgeBase]:
        rows = self._db.query(
            "SELECT k.name, k.description, k.created_at, COUNT(d.id) AS documents,"
            " COALESCE(SUM(d.chunks), 0) AS chunks FROM knowledge_bases k"
            " LEFT JOIN documents d ON d.kb = k.name GROUP BY k.name ORDER BY k.name"
        )
        return [KnowledgeBase(**dict(row)) for row in rows]

    def delete_kb(self, name: str) -> list[str]:
        """Remove the knowledge base and its documents; returns their generations to purge."""
        self.get_kb(name)
        with self._write() as conn:
            rows = conn.execute("SELECT id, generation FROM documents WHERE kb=?", (name,))
            generations = [(row["id"], row["generation"]) for row in rows.fetchall()]
            for doc_id, generation in generations:
                self._hide(conn, generation, name, doc_id, "retired")
            conn.execute("DELETE FROM documents WHERE kb=?", (name,))
            conn.execute("DELETE FROM knowledge_bases WHERE name=?", (name,))
        return [generation for _, generation in generations]

    # -- documents -------------------------------------------------------------------------
    def find_document(self, kb: str, source: str) -> DocumentRecord | None:
        rows = self._db.query("SELECT * FROM documents WHERE kb=? AND source=?", (kb, source))
        return _document(rows[0]) if rows else None

    def find_by_sha256(self, kb: str, sha256: str) -> DocumentRecord | None:
        rows = self._db.query(
            "SELECT * FROM documents WHERE kb=? AND sha256=? ORDER BY ingested_at LIMIT 1",
            (kb, sha256),
        )
        return _document(rows[0]) if rows else None

    def get_document(self, kb: str, doc_id: str) -> DocumentRecord:
        rows = self._db.query("SELECT * FROM documents WHERE kb=? AND id=?", (kb, doc_id))
        if not rows:
            raise NotFound(f"document {doc_id!r} does not exist in knowledge base {kb!r}")
        return _document(rows[0])

    def list_documents(self, kb: str) -> list[DocumentRecord]:
        self.get_kb(kb)
        rows = self._db.query("SELECT * FROM documents WHERE kb=? ORDER BY source", (kb,))
        return [_document(row) for row in rows]

    def delete_document(self, kb: str, doc_id: str) -> str:
        """Drop the document row and hide its chunks at once; returns the generation to purge."""
        record = self.get_document(kb, doc_id)
        with self._write() as conn:
            self._hide(conn, record.generation, kb, doc_id, "retired")
            conn.execute("DELETE FROM documents WHERE id=?", (doc_id,))
        return record.generation

    # -- index identity --------------------------------------------------------------------
    def check_index(self, signature: str) -> None:
        """Refuse to mix vectors of another embedding model or tokenizer into this index."""
        rows = self._db.query("SELECT value FROM meta WHERE key='index'")
        has_documents = bool(self._db.query("SELECT 1 FROM documents LIMIT 1"))
        if rows and rows[0]["value"] != signature and has_documents:
            raise ConfigurationError(
                f"this data folder's index was built with {rows[0]['value']}, but this "
                f"configuration embeds with {signature}: use a new data folder and ingest again"
            )
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('index', ?)", (signature,)
            )

    # -- generations -----------------------------------------------------------------------
    def stage(self, generation: str, kb: str, doc_id: str) -> None:
        """Hide a generation before any of its chunks is written."""
        with self._write() as conn:
            self._hide(conn, generation, kb, doc_id, "staged")

    def commit(self, record: DocumentRecord) -> str | None:
        """Make `record` live and retire the version it replaces, in one transaction."""
        with self._write() as conn:
            old = conn.execute("SELECT generation FROM documents WHERE id=?", (record.id,))
            previous = old.fetchone()
            conn.execute("DELETE FROM documents WHERE id=?", (record.id,))
            values = {**record.__dict__, "metadata": json.dumps(record.metadata)}
            columns = ", ".join(values)
            marks = ", ".join("?" for _ in values)
            conn.execute(
                f"INSERT INTO documents ({columns}) VALUES ({marks})", tuple(values.values())
            )
            conn.execute("DELETE FROM hidden_generations WHERE generation=?", (record.generation,))
            if previous is None:
                return None
            self._hide(conn, previous["generation"], record.kb, record.id, "retired")
            return str(previous["generation"])

    def abandon(self, generation: str) -> None:
        """A staged generation that failed: keep it hidden until its chunks are purged."""
        with self._write() as conn:
            conn.execute(
                "UPDATE hidden_generations SET state='retired', since=? WHERE generation=?",
                (utc_now(), generation),
            )

    def hidden_generations(self) -> frozenset[str]:
        with self._db.lock:
            if self._hidden is None:
                rows = self._db.query("SELECT generation FROM hidden_generations")
                self._hidden = frozenset(row["generation"] for row in rows)
            return self._hidden

    def purgeable(self, grace_s: float) -> list[str]:
        cutoff = (datetime.now(UTC) - timedelta(seconds=grace_s)).isoformat(timespec="seconds")
        rows = self._db.query(
            "SELECT generation FROM hidden_generations WHERE state='retired' AND since<=?",
            (cutoff,),
        )
        return [row["generation"] for row in rows]

    def retire_staged(self) -> int:
        """At start-up: staged generations belong to an ingestion that died with its process."""
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE hidden_generations SET state='retired' WHERE state='staged'"
            )
            return cursor.rowcount

    def forget(self, generation: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM hidden_generations WHERE generation=?", (generation,))

    @staticmethod
    def _hide(conn: Any, generation: str, kb: str, doc_id: str, state: str) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO hidden_generations (generation, kb, doc_id, state, since)"
            " VALUES (?, ?, ?, ?, ?)",
            (generation, kb, doc_id, state, utc_now()),
        )

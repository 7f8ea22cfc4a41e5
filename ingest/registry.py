"""The document registry: knowledge bases, documents and which chunk generations are live.

A document's identity is (knowledge base, source name). Each ingested version gets a fresh
`generation`; its chunks are written while the generation is *staged* (hidden from queries),
then one transaction makes it live and *retires* the previous one. Retired chunks are purged
after a grace period that outlasts any query still using the old snapshot.

Queries filter with a `Visibility` snapshot: the hidden generations and the registry clock
at one moment. Every registry write bumps the clock, and a staged generation's chunks carry
the clock value of their staging (`seq`), so a query also excludes chunks staged after its
snapshot: whatever another process commits meanwhile, a query sees exactly one version of
each document. Processes cache the snapshot and check the clock (one read) before reuse.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, RowMapping, Text, and_, cast, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.db.engine import Database
from core.db.schema import (
    counters,
    documents,
    hidden_generations,
    job_files,
    knowledge_bases,
    meta,
    utc_now,
)
from core.errors import ConfigurationError, Conflict, InvalidRequest, LeaseLost, NotFound
from core.sparse import UNRECORDED_VERSION, words_digest
from core.store import Visibility

SPARSE_KEY = "sparse:"  # meta key of a knowledge base's BM25 tokenizer spec
WORDS_KEY = "sparse-words:"  # meta key of a dictionary word list, by digest
KB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
CLOCK = "registry"

# Runs inside the transaction that makes a generation live, with the generation it
# replaced (None for a new document): a job records the file's outcome there, so that an
# outcome and the document it describes commit together or not at all.
CommitHook = Callable[[Connection, str | None], None]


@dataclass(frozen=True)
class KnowledgeBase:
    """A named collection of documents; `version` changes whenever its content does."""

    name: str
    description: str
    created_at: str
    documents: int = 0
    chunks: int = 0
    version: int = 0


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


def task_key(job_id: Any, position: Any) -> Any:
    """How a job's file is named as a task: `<job>/<position>` (in Python or in SQL)."""
    if isinstance(job_id, str):
        return f"{job_id}/{position}"
    return job_id + "/" + cast(position, Text)


def document_id(kb: str, source: str) -> str:
    """Stable across versions, so links to a document survive re-ingestion."""
    return hashlib.sha256(f"{kb}\0{source}".encode()).hexdigest()[:20]


def _document(row: RowMapping) -> DocumentRecord:
    values: dict[str, Any] = dict(row)
    values["metadata"] = json.loads(values["metadata"])
    return DocumentRecord(**values)


def tick(conn: Connection) -> int:
    """Advance the registry clock inside a write; returns the new value.

    The row lock this takes also orders concurrent writers, so clock values are handed out
    in commit order.
    """
    statement = (
        counters.update()
        .where(counters.c.name == CLOCK)
        .values(value=counters.c.value + 1)
        .returning(counters.c.value)
    )
    return int(conn.execute(statement).scalar_one())


class Registry:
    """Reads and writes the registry tables; every method is one short transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._cached: Visibility | None = None

    # -- knowledge bases -------------------------------------------------------------------
    def create_kb(self, name: str, description: str = "") -> KnowledgeBase:
        if not KB_NAME.match(name):
            raise InvalidRequest(
                f"invalid knowledge base name {name!r}: use 1-64 letters, digits, '.', '_' "
                "or '-', starting with a letter or digit",
                param="name",
            )
        with self._db.write() as conn:
            taken = conn.execute(
                select(knowledge_bases.c.name).where(knowledge_bases.c.name == name)
            )
            if taken.first() is not None:
                raise Conflict(f"knowledge base {name!r} already exists")
            version = tick(conn)
            conn.execute(
                knowledge_bases.insert().values(
                    name=name, description=description, created_at=utc_now(), version=version
                )
            )
        return self.get_kb(name)

    def kb_names(self) -> frozenset[str]:
        return self.visibility().names

    def get_kb(self, name: str) -> KnowledgeBase:
        found = self._list_kbs(name)
        if not found:
            raise NotFound(f"knowledge base {name!r} does not exist")
        return found[0]

    def list_kbs(self) -> list[KnowledgeBase]:
        return self._list_kbs(None)

    def _list_kbs(self, name: str | None) -> list[KnowledgeBase]:
        k, d = knowledge_bases.c, documents.c
        statement = (
            select(
                k.name, k.description, k.created_at, k.version,
                func.count(d.id).label("documents"),
                func.coalesce(func.sum(d.chunks), 0).label("chunks"),
            )
            .select_from(knowledge_bases.outerjoin(documents, d.kb == k.name))
            .group_by(k.name, k.description, k.created_at, k.version)
            .order_by(k.name)
        )  # fmt: skip
        if name is not None:
            statement = statement.where(k.name == name)
        with self._db.read() as conn:
            return [KnowledgeBase(**dict(row)) for row in conn.execute(statement).mappings()]

    def delete_kb(self, name: str) -> list[str]:
        """Remove the knowledge base and its documents; returns their generations to purge."""
        self.get_kb(name)
        with self._db.write() as conn:
            rows = conn.execute(
                select(documents.c.id, documents.c.generation).where(documents.c.kb == name)
            ).all()
            tick(conn)
            for doc_id, generation in rows:
                self._hide(conn, generation, name, doc_id, "retired")
            conn.execute(documents.delete().where(documents.c.kb == name))
            conn.execute(knowledge_bases.delete().where(knowledge_bases.c.name == name))
            conn.execute(meta.delete().where(meta.c.key == SPARSE_KEY + name))
        return [generation for _, generation in rows]

    # -- documents -------------------------------------------------------------------------
    def _documents(self, *conditions: Any) -> list[DocumentRecord]:
        statement = select(documents).where(*conditions).order_by(documents.c.source)
        with self._db.read() as conn:
            return [_document(row) for row in conn.execute(statement).mappings()]

    def find_document(self, kb: str, source: str) -> DocumentRecord | None:
        found = self._documents(documents.c.kb == kb, documents.c.source == source)
        return found[0] if found else None

    def find_by_sha256(self, kb: str, sha256: str) -> DocumentRecord | None:
        found = self._documents(documents.c.kb == kb, documents.c.sha256 == sha256)
        return min(found, key=lambda d: d.ingested_at) if found else None

    def get_document(self, kb: str, doc_id: str) -> DocumentRecord:
        found = self._documents(documents.c.kb == kb, documents.c.id == doc_id)
        if not found:
            raise NotFound(f"document {doc_id!r} does not exist in knowledge base {kb!r}")
        return found[0]

    def list_documents(self, kb: str) -> list[DocumentRecord]:
        self.get_kb(kb)
        return self._documents(documents.c.kb == kb)

    def delete_document(self, kb: str, doc_id: str) -> str:
        """Drop the document row and hide its chunks at once; returns the generation to purge."""
        record = self.get_document(kb, doc_id)
        with self._db.write() as conn:
            version = tick(conn)
            self._hide(conn, record.generation, kb, doc_id, "retired")
            conn.execute(documents.delete().where(documents.c.id == doc_id))
            self._touch_kb(conn, kb, version)
        return record.generation

    # -- index identity --------------------------------------------------------------------
    def check_index(self, embedding: str) -> None:
        """Refuse to mix vectors of another embedding model into this index.

        Registries from before per-knowledge-base tokenizers stored "<model> + <tokenizer>"
        here: their knowledge bases are recorded with that tokenizer, and keep it.
        """
        with self._db.write() as conn:
            stored = conn.execute(select(meta.c.value).where(meta.c.key == "index")).scalar()
            has_documents = conn.execute(select(documents.c.id).limit(1)).first() is not None
            stored_embedding, plus, stored_sparse = (stored or "").partition(" + ")
            if stored is not None and stored_embedding != embedding and has_documents:
                raise ConfigurationError(
                    f"this index was built with {stored_embedding}, but this configuration "
                    f"embeds with {embedding}: use a new data folder (or database) and ingest "
                    "again"
                )
            if has_documents and (stored is None or plus):
                self._record_legacy(conn, stored_sparse or UNRECORDED_VERSION)
            self._upsert(conn, meta, {"key": "index", "value": embedding}, ["key"])

    def _record_legacy(self, conn: Connection, version: str) -> None:
        recorded = set(
            conn.execute(select(meta.c.key).where(meta.c.key.like("sparse:%"))).scalars()
        )
        with_documents = conn.execute(select(documents.c.kb).distinct()).scalars().all()
        for kb in with_documents:
            if SPARSE_KEY + kb not in recorded:
                conn.execute(meta.insert().values(key=SPARSE_KEY + kb, value=version))
        tick(conn)

    # -- BM25 tokenizers -------------------------------------------------------------------
    def sparse_spec(self, kb: str, wanted: str) -> str:
        """The tokenizer `kb` is encoded with: the one recorded, else `wanted`, recorded now."""
        found = self.visibility().sparse.get(kb)
        if found is not None:
            return found
        insert = pg_insert if not self._db.is_sqlite else sqlite_insert
        with self._db.write() as conn:
            tick(conn)
            row = {"key": SPARSE_KEY + kb, "value": wanted}
            conn.execute(insert(meta).values(**row).on_conflict_do_nothing(index_elements=["key"]))
            stored = conn.execute(select(meta.c.value).where(meta.c.key == row["key"])).scalar()
        return str(stored)

    def save_words(self, words: list[str]) -> str:
        """Keep a dictionary word list in the shared store; returns the digest naming it."""
        digest = words_digest(words)
        text = "\n".join(sorted(set(words)))
        with self._db.write() as conn:
            self._upsert(conn, meta, {"key": WORDS_KEY + digest, "value": text}, ["key"])
        return digest

    def load_words(self, digest: str) -> list[str]:
        with self._db.read() as conn:
            text = conn.execute(select(meta.c.value).where(meta.c.key == WORDS_KEY + digest))
            found = text.scalar()
        if found is None:
            raise ConfigurationError(f"the BM25 dictionary {digest} is missing from the store")
        return [w for w in str(found).split("\n") if w]

    # -- generations -----------------------------------------------------------------------
    def stage(self, generation: str, kb: str, doc_id: str, task: str | None = None) -> int:
        """Hide a generation before any of its chunks is written; returns its `seq`."""
        with self._db.write() as conn:
            seq = tick(conn)
            self._hide(conn, generation, kb, doc_id, "staged", task=task, seq=seq)
        return seq

    def commit(self, record: DocumentRecord, hook: CommitHook | None = None) -> str | None:
        """Make `record` live and retire the version it replaces, in one transaction.

        Raises LeaseLost when the generation is no longer staged: the job's lease ran out and
        its staged generation was retired (its chunks may be purged already).
        """
        h, d = hidden_generations.c, documents.c
        with self._db.write() as conn:
            staged = conn.execute(
                select(h.state).where(h.generation == record.generation).with_for_update()
            ).scalar()
            if staged != "staged":
                raise LeaseLost(
                    f"generation {record.generation} of {record.source!r} was retired while "
                    "being written (its job was taken over); it is not made live"
                )
            version = tick(conn)
            previous = conn.execute(select(d.generation).where(d.id == record.id)).scalar()
            conn.execute(documents.delete().where(d.id == record.id))
            values = {**record.__dict__, "metadata": json.dumps(record.metadata)}
            conn.execute(documents.insert().values(**values))
            conn.execute(hidden_generations.delete().where(h.generation == record.generation))
            if previous is not None:
                self._hide(conn, previous, record.kb, record.id, "retired")
            self._touch_kb(conn, record.kb, version)
            if hook is not None:
                hook(conn, previous)
        return previous

    def abandon(self, generation: str) -> None:
        """A staged generation that failed: keep it hidden until its chunks are purged."""
        self._retire(hidden_generations.c.generation == generation)

    def visibility(self) -> Visibility:
        """The current snapshot for queries; cached until another write moves the clock."""
        with self._db.read() as conn:
            clock = conn.execute(select(counters.c.value).where(counters.c.name == CLOCK))
            now = int(clock.scalar_one())
        with self._lock:
            if self._cached is not None and self._cached.clock == now:
                return self._cached
        with self._db.snapshot() as conn:
            clock_now = conn.execute(select(counters.c.value).where(counters.c.name == CLOCK))
            value = int(clock_now.scalar_one())
            hidden = conn.execute(select(hidden_generations.c.generation)).scalars().all()
            kbs = conn.execute(select(knowledge_bases.c.name, knowledge_bases.c.version)).all()
            specs = conn.execute(
                select(meta.c.key, meta.c.value).where(meta.c.key.like("sparse:%"))
            )
            sparse = {key.removeprefix(SPARSE_KEY): value for key, value in specs}
        snapshot = Visibility(
            value, frozenset(hidden), {name: int(v) for name, v in kbs}, sparse=sparse
        )
        with self._lock:
            if self._cached is None or (self._cached.clock or 0) <= value:
                self._cached = snapshot
        return snapshot

    def hidden_generations(self) -> frozenset[str]:
        return self.visibility().hidden

    def purgeable(self, grace_s: float) -> list[str]:
        cutoff = (datetime.now(UTC) - timedelta(seconds=grace_s)).isoformat(timespec="seconds")
        h = hidden_generations.c
        statement = select(h.generation).where(h.state == "retired", h.since <= cutoff)
        with self._db.read() as conn:
            return list(conn.execute(statement).scalars())

    def retire_staged(self) -> int:
        """Retire every staged generation: only for the exclusive owner of a data folder.

        At its start-up, a staged generation belongs to an ingestion that died with its process.
        """
        return self._retire(hidden_generations.c.state == "staged")

    def retire_orphans(self) -> int:
        """Retire staged generations whose task no longer holds a live lease.

        Safe while their writer may still be running: its commit finds the generation
        retired and gives up (LeaseLost), so nothing half-written ever goes live.
        """
        h, f = hidden_generations.c, job_files.c
        alive = select(task_key(f.job_id, f.position)).where(
            f.outcome.is_(None), f.lease_expires > self._db.now()
        )
        return self._retire(and_(h.state == "staged", or_(h.task.is_(None), h.task.not_in(alive))))

    def retire_task(self, conn: Connection, task: str) -> None:
        """Inside a claim: what an earlier holder of the task left staged goes."""
        h = hidden_generations.c
        condition = and_(h.state == "staged", h.task == task)
        if conn.execute(select(h.generation).where(condition).limit(1)).first() is not None:
            tick(conn)
            conn.execute(hidden_generations.update().where(condition).values(
                state="retired", since=utc_now()
            ))  # fmt: skip

    def forget(self, generation: str) -> None:
        with self._db.write() as conn:
            tick(conn)
            conn.execute(
                hidden_generations.delete().where(hidden_generations.c.generation == generation)
            )

    def _retire(self, condition: Any) -> int:
        with self._db.write() as conn:
            tick(conn)
            cursor = conn.execute(
                hidden_generations.update()
                .where(condition, hidden_generations.c.state == "staged")
                .values(state="retired", since=utc_now())
            )
            return int(cursor.rowcount)

    @staticmethod
    def _touch_kb(conn: Connection, kb: str, version: int) -> None:
        conn.execute(
            knowledge_bases.update().where(knowledge_bases.c.name == kb).values(version=version)
        )

    def _hide(
        self,
        conn: Connection,
        generation: str,
        kb: str,
        doc_id: str,
        state: str,
        *,
        task: str | None = None,
        seq: int | None = None,
    ) -> None:
        values = {
            "generation": generation, "kb": kb, "doc_id": doc_id, "state": state,
            "since": utc_now(), "task": task, "seq": seq,
        }  # fmt: skip
        self._upsert(conn, hidden_generations, values, ["generation"])

    def _upsert(
        self, conn: Connection, table: Any, values: dict[str, Any], keys: list[str]
    ) -> None:
        insert = pg_insert if not self._db.is_sqlite else sqlite_insert
        statement = insert(table).values(**values)
        changes = {k: v for k, v in values.items() if k not in keys}
        conn.execute(statement.on_conflict_do_update(index_elements=keys, set_=changes))

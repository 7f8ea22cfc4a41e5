"""Ingest one file: check, parse, chunk, embed, store, then switch generations atomically."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from core.db.schema import utc_now
from core.embeddings import Embedder
from core.errors import DocumentError, EmptyFile, FileMissing, FileTooLarge, LeaseLost
from core.observability.metrics import (
    INGEST_CHUNKS,
    INGEST_FILE_DURATION,
    INGEST_FILES,
    INGEST_STAGE_DURATION,
)
from core.privacy import PiiMasker, PrivacySettings
from core.sparse import Bm25Encoder, SparseEncoders
from core.store import ChunkPoint, VectorStore, Where
from ingest.chunker import Chunker, TextChunk
from ingest.document import ParsedDocument
from ingest.originals import Originals
from ingest.outcome import FileResult, Outcome, ProgressSink
from ingest.overlap import overlapped
from ingest.parsers.select import ParserSet
from ingest.registry import DocumentRecord, Registry, document_id

logger = logging.getLogger(__name__)

_POINT_NAMESPACE = uuid.UUID("6f1f9d1c-5b0e-4d59-9a51-0c3a1c6c2b7e")

# Embedded batches that may wait for the store: the embedder runs ahead by this much, and
# memory holds at most about twice as many batches of points (queued, and being written).
UPSERTS_AHEAD = 2

# Called inside the transaction that makes a document live, with the file's result: a job
# records the outcome there, so outcome and document commit together.
OnCommit = Callable[[Connection, FileResult], None]


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _check_file(path: Path, max_bytes: int) -> int:
    if not path.is_file():
        raise FileMissing(f"{path}: no such file")
    size = path.stat().st_size
    if size == 0:
        raise EmptyFile("the file is empty (0 bytes)")
    if size > max_bytes:
        raise FileTooLarge(
            f"the file is {size / 2**20:.1f} MB, over the {max_bytes / 2**20:.0f} MB limit"
        )
    return size


class Ingestor:
    """Runs the whole pipeline for one file at a time and reports progress to a sink."""

    def __init__(
        self,
        *,
        parsers: ParserSet,
        chunker: Chunker,
        embedder: Embedder,
        sparse: SparseEncoders,
        sparse_spec: str,
        store: VectorStore,
        registry: Registry,
        originals: Originals,
        max_file_bytes: int,
        batch_size: int = 64,
        privacy: PrivacySettings | None = None,
    ) -> None:
        self._parsers = parsers
        self._chunker = chunker
        self._embedder = embedder
        self._sparse, self._sparse_spec = sparse, sparse_spec
        self._store = store
        self._registry = registry
        self._originals = originals
        self._max_file_bytes = max_file_bytes
        self._batch_size = batch_size
        self._privacy = privacy or PrivacySettings()

    async def ingest(
        self,
        kb: str,
        path: Path,
        source: str,
        sink: ProgressSink,
        *,
        task: str | None = None,
        on_commit: OnCommit | None = None,
    ) -> FileResult:
        """Never raises for a bad file: the failure is returned as a FAILED result.

        `task` owns the staged generation (crash recovery goes by its lease); `on_commit`
        runs in the committing transaction (only for INGESTED and REPLACED results). Raises
        LeaseLost when the job was taken over meanwhile: nothing of this file went live.
        """
        started = time.perf_counter()
        try:
            size = _check_file(path, self._max_file_bytes)
            sink.file_started(source, size)
            result = await self._ingest_checked(kb, path, source, size, sink, _Job(task, on_commit))
        except LeaseLost:
            raise
        except DocumentError as exc:
            result = FileResult(source, Outcome.FAILED, reason=exc.reason, message=exc.message)
        except Exception as exc:
            # Boundary: one broken file must not stop the batch; the reason is kept for people.
            logger.exception("ingesting %s failed unexpectedly", source)
            result = FileResult(source, Outcome.FAILED, reason="error", message=repr(exc))
        INGEST_FILES.labels(result.outcome.value).inc()
        INGEST_FILE_DURATION.labels(result.outcome.value).observe(time.perf_counter() - started)
        sink.file_finished(result)
        return result

    async def _ingest_checked(
        self, kb: str, path: Path, source: str, size: int, sink: ProgressSink, job: _Job
    ) -> FileResult:
        sha256 = await asyncio.to_thread(sha256_of, path)
        doc_id = document_id(kb, source)
        existing = self._registry.find_document(kb, source)
        if existing is not None and existing.sha256 == sha256:
            return FileResult(source, Outcome.UNCHANGED, doc_id, existing.pages, existing.chunks)
        twin = self._registry.find_by_sha256(kb, sha256)
        if twin is not None and twin.source != source:
            message = f"same content as {twin.source!r}, already in {kb!r}"
            return FileResult(
                source, Outcome.DUPLICATE, twin.id, reason="duplicate", message=message
            )
        parser = self._parsers.pick(source)
        with INGEST_STAGE_DURATION.labels("parse").time():
            document = await self._parsers.parse(path, source)
        sink.pages_parsed(source, document.page_count)
        with INGEST_STAGE_DURATION.labels("chunk").time():
            chunks = await asyncio.to_thread(self._chunker.chunk, document)
        if not chunks:
            raise DocumentError("no text to index after parsing")
        generation = uuid.uuid4().hex
        seq = await asyncio.to_thread(self._registry.stage, generation, kb, doc_id, job.id)
        stored = _Stored(kb, doc_id, generation, seq, source)
        try:
            await self._store_chunks(stored, document, chunks, sink)
            await asyncio.to_thread(self._originals.keep, generation, source, path)
        except BaseException:
            self._registry.abandon(generation)
            raise
        record = DocumentRecord(
            id=doc_id, kb=kb, source=source, title=document.title, pages=document.page_count,
            chunks=len(chunks), sha256=sha256, size_bytes=size, generation=generation,
            parser=parser.name, ingested_at=utc_now(), metadata=document.metadata,
        )  # fmt: skip

        def result(previous: str | None) -> FileResult:
            outcome = Outcome.INGESTED if previous is None else Outcome.REPLACED
            return FileResult(source, outcome, doc_id, record.pages, record.chunks)

        def hook(conn: Connection, previous: str | None) -> None:
            if job.on_commit is not None:
                job.on_commit(conn, result(previous))

        try:
            replaced = await asyncio.to_thread(self._registry.commit, record, hook)
        except BaseException:
            self._registry.abandon(generation)
            raise
        done = result(replaced)
        logger.info("%s %s: %d pages, %d chunks", done.outcome, source, done.pages, done.chunks)
        return done

    async def _store_chunks(
        self,
        stored: _Stored,
        document: ParsedDocument,
        chunks: Sequence[TextChunk],
        sink: ProgressSink,
    ) -> None:
        if self._privacy.masks_stored(stored.kb):
            # Masked before embedding: neither vectors, BM25 terms nor payloads hold the data.
            masker = PiiMasker()
            chunks = [replace(chunk, text=masker.mask(chunk.text)) for chunk in chunks]
        # A knowledge base keeps the tokenizer it was first encoded with (see core.sparse).
        spec = await asyncio.to_thread(self._registry.sparse_spec, stored.kb, self._sparse_spec)
        bm25 = self._sparse.encoder(spec)

        async def embedded() -> AsyncIterator[list[ChunkPoint]]:
            for start in range(0, len(chunks), self._batch_size):
                batch = chunks[start : start + self._batch_size]
                with INGEST_STAGE_DURATION.labels("embed").time():
                    points = await asyncio.to_thread(
                        self._points, stored, document, batch, start, bm25
                    )
                yield points

        async def store(points: list[ChunkPoint]) -> None:
            with INGEST_STAGE_DURATION.labels("store").time():
                await self._store.upsert(points)

        def stored_count(count: int) -> None:
            INGEST_CHUNKS.inc(count)
            sink.chunks_embedded(stored.source, count)

        await overlapped(embedded(), store, stored_count, ahead=UPSERTS_AHEAD)

    def _points(
        self,
        stored: _Stored,
        document: ParsedDocument,
        batch: Sequence[TextChunk],
        start: int,
        bm25: Bm25Encoder,
    ) -> list[ChunkPoint]:
        """One batch embedded (dense and BM25), in a worker thread."""
        dense = self._embedder.embed_documents([chunk.text for chunk in batch])
        return [
            ChunkPoint(
                id=str(uuid.uuid5(_POINT_NAMESPACE, f"{stored.generation}:{start + i}")),
                dense=vector,
                sparse=bm25.document(chunk.text),
                payload=_payload(stored, document, chunk, start + i),
            )
            for i, (chunk, vector) in enumerate(zip(batch, dense, strict=True))
        ]

    async def optimize(self) -> None:
        """After a batch: let the store index what was written."""
        await self._store.optimize()

    def visible(self, kbs: Sequence[str] | None = None) -> Where:
        """The filter that shows queries exactly the live version of every document."""
        return self._registry.visibility().where(kbs)


@dataclass(frozen=True)
class _Job:
    id: str | None
    on_commit: OnCommit | None


@dataclass(frozen=True)
class _Stored:
    """Where a version's chunks go: its document, generation and staging clock."""

    kb: str
    doc_id: str
    generation: str
    seq: int
    source: str


def _payload(
    stored: _Stored, document: ParsedDocument, chunk: TextChunk, index: int
) -> dict[str, Any]:
    return {
        "kb": stored.kb,
        "doc_id": stored.doc_id,
        "generation": stored.generation,
        "seq": stored.seq,
        "source": stored.source,
        "title": document.title,
        "chunk_index": index,
        "page": chunk.page,
        "char_start": chunk.char_start,
        "char_end": chunk.char_end,
        "heading_path": list(chunk.heading_path),
        "token_count": chunk.token_count,
        "text": chunk.text,
        # Recognised from the page's image: citations say so, readers may double-check.
        "ocr": document.pages[chunk.page - 1].ocr,
    }

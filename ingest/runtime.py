"""Builds the ingest machinery from settings, in dependency order, and tears it down."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from core.db.engine import Database, database_url
from core.db.migrate import upgrade
from core.embeddings import Embedder, open_embedder
from core.sparse import SPARSE_VERSION, SparseEncoders, spec
from core.store import VectorStore, open_store
from ingest.chunker import Chunker
from ingest.datafolder import DataFolder
from ingest.jobs import Job, JobFile, JobStore
from ingest.originals import Originals
from ingest.parsers.select import ParserSet
from ingest.pipeline import Ingestor
from ingest.purge import Purger
from ingest.registry import Registry
from ingest.settings import IngestSettings
from ingest.uploads import Uploads
from ingest.worker import Worker

logger = logging.getLogger(__name__)


@dataclass
class IngestRuntime:
    """Everything ingestion needs, owned together.

    Embedded (SQLite or Qdrant Edge): `open` claims the data folder, so this process is the
    only one using it. Shared (PostgreSQL and a Qdrant server): nothing is claimed; any
    number of API replicas and workers open their own runtime on the same state.
    """

    settings: IngestSettings
    folder: DataFolder | None
    db: Database
    registry: Registry
    jobs: JobStore
    uploads: Uploads
    originals: Originals
    store: VectorStore
    embedder: Embedder
    parsers: ParserSet
    chunker: Chunker
    sparse: SparseEncoders
    ingestor: Ingestor
    purger: Purger
    worker: Worker
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    async def open(
        cls,
        settings: IngestSettings,
        *,
        server_url: str | None = None,
        embedder: Embedder | None = None,
    ) -> IngestRuntime:
        """Open the store and recover crashes; claim the data folder unless state is shared.

        Pass `embedder` to share one loaded model between runtimes (tests, benchmarks).
        """
        folder = None if settings.shared else DataFolder(settings.data_dir)
        if folder is not None:
            folder.claim(server_url)
        try:
            return await cls._build(settings, folder, embedder)
        except BaseException:
            if folder is not None:
                folder.release()
            raise

    @classmethod
    async def _build(
        cls, settings: IngestSettings, folder: DataFolder | None, embedder: Embedder | None
    ) -> IngestRuntime:
        db = Database(database_url(settings.database_url, settings.data_dir))
        try:
            await asyncio.to_thread(upgrade, db)
            registry = Registry(db)
            if embedder is None:
                embedder = await asyncio.to_thread(
                    open_embedder, settings.embedding, settings.models_dir
                )
            model: Embedder = embedder
            # The engine (torch, ONNX fp32 or int8) is deliberately not in the signature: an
            # engine is only used after its vectors matched torch's (cosine >= 0.99 on every
            # text of a fixed sample; fp32 differs by ~1e-6), so an index built on one is
            # queried correctly on another, and folders made before the ONNX engines stay valid.
            # The BM25 tokenizer is not in it either: each knowledge base records its own.
            await asyncio.to_thread(registry.check_index, f"{model.name} ({model.dimension}d)")
            words = settings.sparse.dictionary_words()
            if words:
                await asyncio.to_thread(registry.save_words, words)
        except BaseException:
            db.close()
            raise
        store = open_store(settings.store, settings.data_dir)
        await store.ensure(model.dimension)
        parsers = ParserSet.from_settings(settings)
        max_tokens = min(settings.chunk.max_tokens, model.max_tokens)
        chunker = Chunker(model.token_spans, max_tokens, settings.chunk.overlap_tokens)
        sparse = SparseEncoders(registry.load_words)
        originals = Originals(settings.originals_path)
        ingestor = Ingestor(
            parsers=parsers, chunker=chunker, embedder=model, sparse=sparse,
            sparse_spec=spec(SPARSE_VERSION, words), store=store,
            registry=registry, originals=originals, max_file_bytes=settings.max_file_bytes,
            batch_size=settings.embedding.batch_size, privacy=settings.privacy,
        )  # fmt: skip
        jobs = JobStore(db, registry)
        purger = Purger(registry, store, originals, settings.worker.purge_grace_s)
        if folder is not None:
            # The only process on this folder: whatever is staged or leased died with its
            # process, so recover it all now instead of waiting for leases to run out.
            await purger.recover()
            await asyncio.to_thread(jobs.release_all)
        uploads = Uploads(settings.uploads_path)
        worker = Worker(jobs, ingestor, purger, uploads, settings.worker)
        return cls(
            settings, folder, db, registry, jobs, uploads, originals, store, model, parsers,
            chunker, sparse, ingestor, purger, worker,
        )  # fmt: skip

    def submit(self, kb: str, files: list[JobFile], job_id: str) -> Job:
        """Queue a job; the in-process worker, if any, takes it at once."""
        job = self.jobs.create(kb, files, job_id)
        # Under the request's id: the worker's lines about this job carry "job-<id>".
        logger.info("job %s queued: %d files for %s", job.id, len(files), kb)
        self.worker.wake()
        return job

    def start_worker(self) -> None:
        """Run this runtime's worker in the background until `close`."""
        self._tasks.append(asyncio.create_task(self.worker.run(), name="ingest-worker"))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.parsers.aclose()
        await self.store.close()
        self.db.close()
        if self.folder is not None:
            self.folder.release()

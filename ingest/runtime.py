"""Builds the ingest machinery from settings, in dependency order, and tears it down."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from core.embeddings import Embedder, open_embedder
from core.sparse import SPARSE_VERSION, Bm25Encoder
from core.store import VectorStore, open_store
from ingest.chunker import Chunker
from ingest.datafolder import DataFolder
from ingest.db import Database
from ingest.jobs import JobStore
from ingest.parsers.select import ParserSet
from ingest.pipeline import Ingestor
from ingest.purge import REPLACED_GRACE_S, Purger
from ingest.registry import Registry
from ingest.runner import JobRunner
from ingest.settings import IngestSettings

logger = logging.getLogger(__name__)


@dataclass
class IngestRuntime:
    """Everything ingestion needs, owned together; `open` claims the data folder."""

    settings: IngestSettings
    folder: DataFolder
    db: Database
    registry: Registry
    store: VectorStore
    embedder: Embedder
    parsers: ParserSet
    chunker: Chunker
    bm25: Bm25Encoder
    ingestor: Ingestor
    purger: Purger
    runner: JobRunner
    _janitor: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls,
        settings: IngestSettings,
        *,
        server_url: str | None = None,
        embedder: Embedder | None = None,
    ) -> IngestRuntime:
        """Claim the data folder (DataFolderBusy if taken), open the store, recover crashes.

        Pass `embedder` to share one loaded model between runtimes (tests, benchmarks).
        """
        folder = DataFolder(settings.data_dir)
        folder.claim(server_url)
        try:
            return await cls._build(settings, folder, embedder)
        except BaseException:
            folder.release()
            raise

    @classmethod
    async def _build(
        cls, settings: IngestSettings, folder: DataFolder, embedder: Embedder | None
    ) -> IngestRuntime:
        db = Database(settings.data_dir / "registry.sqlite3")
        registry = Registry(db)
        if embedder is None:
            embedder = await asyncio.to_thread(
                open_embedder, settings.embedding, settings.models_dir
            )
        model: Embedder = embedder
        try:
            # The engine (torch, ONNX fp32 or int8) is deliberately not in the signature: an
            # engine is only used after its vectors matched torch's (cosine >= 0.99 on every
            # text of a fixed sample; fp32 differs by ~1e-6), so an index built on one is
            # queried correctly on another, and folders made before the ONNX engines stay valid.
            registry.check_index(f"{model.name} ({model.dimension}d) + {SPARSE_VERSION}")
        except BaseException:
            db.close()
            raise
        store = open_store(settings.store, settings.data_dir)
        await store.ensure(model.dimension)
        parsers = ParserSet.from_settings(settings)
        max_tokens = min(settings.chunk.max_tokens, model.max_tokens)
        chunker = Chunker(model.token_spans, max_tokens, settings.chunk.overlap_tokens)
        bm25 = Bm25Encoder()
        ingestor = Ingestor(
            parsers=parsers, chunker=chunker, embedder=model, bm25=bm25, store=store,
            registry=registry, max_file_bytes=settings.max_file_bytes,
            batch_size=settings.embedding.batch_size,
        )  # fmt: skip
        purger = Purger(registry, store)
        await purger.recover()
        runner = JobRunner(JobStore(db), ingestor, purger, settings.data_dir / "uploads")
        return cls(
            settings, folder, db, registry, store, model, parsers, chunker, bm25, ingestor,
            purger, runner,
        )  # fmt: skip

    async def start_background(self) -> None:
        """For servers: run queued jobs and purge replaced chunks periodically."""
        await self.runner.start()
        self._janitor = asyncio.create_task(self._purge_periodically(), name="ingest-janitor")

    async def _purge_periodically(self) -> None:
        while True:
            await asyncio.sleep(REPLACED_GRACE_S)
            try:
                await self.purger.purge()
            except Exception:
                # Boundary: a failed purge is retried next round; chunks stay hidden meanwhile.
                logger.exception("purging replaced chunks failed")

    async def close(self) -> None:
        await self.runner.stop()
        if self._janitor is not None:
            self._janitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._janitor
        await self.parsers.aclose()
        await self.store.close()
        self.db.close()
        self.folder.release()

"""Embedding and upserting overlap, with bounded memory and exact progress.

The real model, Qdrant Edge and registry; the store is made slow or failing by a wrapper
that delays or refuses upserts before handing them to the real store, so the embedder runs
ahead of it. Nothing here times anything: it counts batches.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from core.errors import UpstreamError
from core.sparse.versions import SPARSE_VERSION, spec
from core.store import ChunkPoint
from ingest.outcome import FileResult, Outcome
from ingest.overlap import overlapped
from ingest.pipeline import UPSERTS_AHEAD, Ingestor
from ingest.runtime import IngestRuntime
from tests.support.runtime import open_runtime, paragraphs, write_text

BATCH = 2
# In memory at once, at most: the batch being embedded, `ahead` queued, `ahead` being written.
BOUND = 2 * UPSERTS_AHEAD + 1


class Ledger:
    """Counts batches embedded and chunks stored, and the most ever embedded but not stored."""

    def __init__(self) -> None:
        self.embedded = self.stored = self.upserts = 0
        self.most_pending = 0

    def saw_embedding(self, count: int) -> None:
        self.embedded += count
        self.most_pending = max(self.most_pending, self.embedded - self.stored)


class CountingEmbedder:
    def __init__(self, inner: Any, ledger: Ledger) -> None:
        self.inner, self.ledger = inner, ledger
        self.name, self.dimension, self.max_tokens = inner.name, inner.dimension, inner.max_tokens

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        return self.inner.token_spans(text)

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        vectors = self.inner.embed_documents(texts)
        self.ledger.saw_embedding(len(texts))
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


class SlowStore:
    """The real store, each upsert held back until the embedder has run ahead (or fails)."""

    def __init__(self, inner: Any, ledger: Ledger, fail_at: int | None = None) -> None:
        self.inner, self.ledger, self.fail_at = inner, ledger, fail_at

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def upsert(self, points: Sequence[ChunkPoint]) -> None:
        self.ledger.upserts += 1
        if self.ledger.upserts == self.fail_at:
            raise UpstreamError("the store refused the write")
        for _ in range(200):  # let the embedder run until it is held back by the bound
            await asyncio.sleep(0.01)
            if self.ledger.embedded - self.ledger.stored >= BOUND * BATCH:
                break
        await self.inner.upsert(points)
        self.ledger.stored += len(points)


@pytest.fixture
async def runtime(tmp_path: Path, embedder) -> AsyncIterator[IngestRuntime]:
    runtime = await open_runtime(tmp_path / "data", embedder)
    runtime.registry.create_kb("docs")
    yield runtime
    await runtime.close()


def ingestor(runtime: IngestRuntime, ledger: Ledger, fail_at: int | None = None) -> Ingestor:
    return Ingestor(
        parsers=runtime.parsers, chunker=runtime.chunker,
        embedder=CountingEmbedder(runtime.embedder, ledger), sparse=runtime.sparse,
        sparse_spec=spec(SPARSE_VERSION, ()),
        store=SlowStore(runtime.store, ledger, fail_at), registry=runtime.registry,
        originals=runtime.originals, max_file_bytes=10**8, batch_size=BATCH,
    )  # fmt: skip


class Progress:
    def __init__(self) -> None:
        self.chunks = 0
        self.results: list[FileResult] = []

    def file_started(self, name: str, size_bytes: int) -> None:
        pass

    def pages_parsed(self, name: str, pages: int) -> None:
        pass

    def chunks_embedded(self, name: str, count: int) -> None:
        self.chunks += count

    def file_finished(self, result: FileResult) -> None:
        self.results.append(result)


async def visible(runtime: IngestRuntime) -> int:
    return len(await runtime.store.scroll(runtime.ingestor.visible(["docs"])))


async def test_embedding_runs_ahead_of_a_slow_store_but_only_so_far(runtime, tmp_path):
    path = write_text(tmp_path, "long.txt", paragraphs("overlap", 160))
    ledger, progress = Ledger(), Progress()
    result = await ingestor(runtime, ledger).ingest("docs", path, "long.txt", progress)
    assert result.outcome is Outcome.INGESTED
    assert result.chunks >= 6 * BATCH  # enough batches for the bound to matter
    # Exact: every chunk embedded once, stored once, counted once, and live.
    assert ledger.embedded == ledger.stored == progress.chunks == result.chunks
    assert await visible(runtime) == result.chunks
    # Overlap: the embedder got ahead of the store; bounded: never further than the bound.
    assert ledger.most_pending > BATCH
    assert ledger.most_pending <= BOUND * BATCH
    # Batches that queued while the store was slow went out together.
    assert ledger.upserts < result.chunks / BATCH


async def test_a_failing_store_stops_embedding_and_nothing_goes_live(runtime, tmp_path):
    path = write_text(tmp_path, "long.txt", paragraphs("failure", 160))
    ledger, progress = Ledger(), Progress()
    result = await ingestor(runtime, ledger, fail_at=2).ingest("docs", path, "long.txt", progress)
    assert result.outcome is Outcome.FAILED
    assert "refused the write" in (result.message or "")
    assert progress.results == [result]
    assert progress.chunks == ledger.stored  # only what was stored was reported
    assert ledger.embedded <= ledger.stored + (BOUND + 1) * BATCH  # stopped, not run to the end
    assert await visible(runtime) == 0
    assert runtime.registry.list_documents("docs") == []


async def batches(
    count: int, log: list[str], fail_at: int | None = None
) -> AsyncIterator[list[int]]:
    for i in range(count):
        if i == fail_at:
            raise ValueError("the embedder broke")
        log.append(f"embedded {i}")
        yield [i]
        await asyncio.sleep(0)


async def test_an_embedding_failure_stops_the_writer_and_is_the_error_raised():
    log: list[str] = []
    written: list[int] = []

    async def write(items: list[int]) -> None:
        await asyncio.sleep(0.01)
        written.extend(items)

    with pytest.raises(ValueError, match="the embedder broke"):
        await overlapped(batches(10, log, fail_at=4), write, lambda n: None, ahead=2)
    assert written == list(range(len(written)))  # in order, nothing after the failure
    assert len(written) <= 4


async def test_every_item_is_written_once_in_order_and_counted():
    log: list[str] = []
    written: list[int] = []
    counted: list[int] = []

    async def write(items: list[int]) -> None:
        await asyncio.sleep(0.001)
        written.extend(items)

    await overlapped(batches(25, log), write, counted.append, ahead=3)
    assert written == list(range(25))
    assert sum(counted) == 25

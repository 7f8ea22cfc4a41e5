"""The ingestion pipeline end to end: real parsers, model, Qdrant Edge and SQLite registry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.errors import DataFolderBusy
from core.sparse import SPARSE_VERSION
from core.store import Where
from ingest.outcome import FileResult, NullProgress, Outcome
from ingest.pipeline import Ingestor
from ingest.runtime import IngestRuntime
from retrieval.hybrid import to_hit
from serving.chat.citations import citation
from tests.support import scans
from tests.support.runtime import open_runtime, paragraphs, write_text


@pytest.fixture
async def runtime(tmp_path: Path, embedder) -> AsyncIterator[IngestRuntime]:
    runtime = await open_runtime(tmp_path / "data", embedder)
    runtime.registry.create_kb("docs")
    yield runtime
    await runtime.close()


async def ingest(runtime: IngestRuntime, path: Path, source: str | None = None) -> FileResult:
    return await runtime.ingestor.ingest("docs", path, source or path.name, NullProgress())


async def visible_chunks(runtime: IngestRuntime, doc_id: str | None) -> list[dict]:
    where = runtime.ingestor.visible(["docs"])
    chunks = await runtime.store.scroll(where)
    return [c.payload for c in chunks if c.payload["doc_id"] == doc_id]


async def test_a_text_file_is_chunked_with_spans_and_stored(runtime, tmp_path):
    path = write_text(tmp_path, "guide.md", ["# Guide", *paragraphs("qdrant", 30)])
    result = await ingest(runtime, path)
    assert result.outcome is Outcome.INGESTED
    assert result.chunks > 1
    chunks = await visible_chunks(runtime, result.doc_id)
    assert len(chunks) == result.chunks
    text = path.read_text()
    for chunk in chunks:
        assert text[chunk["char_start"] : chunk["char_end"]] == chunk["text"]
        assert chunk["page"] == 1
        assert chunk["heading_path"] == ["Guide"]
        assert chunk["token_count"] <= 240
    [record] = runtime.registry.list_documents("docs")
    assert (record.title, record.pages, record.chunks) == ("Guide", 1, result.chunks)


async def test_same_file_again_is_unchanged(runtime, tmp_path):
    path = write_text(tmp_path, "a.txt", paragraphs("alpha", 5))
    first = await ingest(runtime, path)
    again = await ingest(runtime, path)
    assert again.outcome is Outcome.UNCHANGED
    assert again.doc_id == first.doc_id
    assert len(await visible_chunks(runtime, first.doc_id)) == first.chunks


async def test_same_content_under_another_name_is_a_duplicate(runtime, tmp_path):
    original = write_text(tmp_path, "a.txt", paragraphs("alpha", 5))
    copy = write_text(tmp_path, "copy-of-a.txt", paragraphs("alpha", 5))
    await ingest(runtime, original)
    result = await ingest(runtime, copy)
    assert result.outcome is Outcome.DUPLICATE
    assert "a.txt" in (result.message or "")
    assert [d.source for d in runtime.registry.list_documents("docs")] == ["a.txt"]


class ObservingStore:
    """A VectorStore that delegates to the real one and runs a check after every upsert."""

    def __init__(self, inner, after_upsert) -> None:
        self.inner, self.after_upsert, self.name = inner, after_upsert, inner.name

    async def upsert(self, points):
        await self.inner.upsert(points)
        await self.after_upsert()

    def __getattr__(self, name):
        return getattr(self.inner, name)


async def test_a_changed_file_replaces_its_chunks_with_no_mixed_moment(runtime, tmp_path):
    path = write_text(tmp_path, "policy.txt", paragraphs("old policy", 120))
    first = await ingest(runtime, path)
    old_texts = {c["text"] for c in await visible_chunks(runtime, first.doc_id)}
    write_text(tmp_path, "policy.txt", paragraphs("new policy", 120))
    looks: list[set[str]] = []

    async def look() -> None:
        looks.append({c["text"] for c in await visible_chunks(runtime, first.doc_id)})

    # The same parts as the runtime's, small batches, and a look after each stored batch.
    ingestor = Ingestor(
        parsers=runtime.parsers, chunker=runtime.chunker, embedder=runtime.embedder,
        sparse=runtime.sparse, sparse_spec=SPARSE_VERSION,
        store=ObservingStore(runtime.store, look),
        registry=runtime.registry, originals=runtime.originals, max_file_bytes=10**8,
        batch_size=4,
    )  # fmt: skip
    result = await ingestor.ingest("docs", path, "policy.txt", NullProgress())

    assert result.outcome is Outcome.REPLACED
    assert len(looks) >= 3
    assert all(seen == old_texts for seen in looks), "a query saw part of the new version"
    new = {c["text"] for c in await visible_chunks(runtime, first.doc_id)}
    assert len(new) == result.chunks
    assert not new & old_texts
    # The old chunks stay hidden until purged, then they are gone from the store.
    assert await runtime.store.count(Where(doc_id=first.doc_id)) > result.chunks
    await runtime.purger.purge(grace_s=0)
    assert await runtime.store.count(Where(doc_id=first.doc_id)) == result.chunks
    assert runtime.registry.hidden_generations() == frozenset()


async def test_bad_files_fail_one_by_one_and_the_rest_ingests(runtime, tmp_path):
    good = write_text(tmp_path, "good.txt", paragraphs("good", 5))
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    unknown = tmp_path / "data.xyz"
    unknown.write_bytes(b"\x00\x01binary")
    fake_pdf = tmp_path / "fake.pdf"
    fake_pdf.write_bytes(b"this is not a pdf at all")
    missing = tmp_path / "missing.txt"
    results = {p.name: await ingest(runtime, p) for p in (empty, unknown, fake_pdf, missing, good)}
    assert results["good.txt"].outcome is Outcome.INGESTED
    reasons = {name: r.reason for name, r in results.items() if r.outcome is Outcome.FAILED}
    assert reasons == {
        "empty.txt": "empty",
        "data.xyz": "unsupported",
        "fake.pdf": "corrupt",
        "missing.txt": "missing",
    }
    assert all(results[name].message for name in reasons)
    assert [d.source for d in runtime.registry.list_documents("docs")] == ["good.txt"]
    assert runtime.registry.hidden_generations() == frozenset()
    assert await runtime.store.count(Where(kbs=("docs",))) == results["good.txt"].chunks


async def test_a_file_over_the_size_limit_is_refused(tmp_path, embedder):
    runtime = await open_runtime(tmp_path / "data", embedder, max_file_bytes=1000)
    try:
        runtime.registry.create_kb("docs")
        big = write_text(tmp_path, "big.txt", paragraphs("big", 40))
        result = await ingest(runtime, big)
        assert (result.outcome, result.reason) == (Outcome.FAILED, "too_large")
        assert "limit" in (result.message or "")
    finally:
        await runtime.close()


async def test_deleting_a_document_removes_every_chunk(runtime, tmp_path):
    keep = await ingest(runtime, write_text(tmp_path, "keep.txt", paragraphs("keep", 10)))
    drop = await ingest(runtime, write_text(tmp_path, "drop.txt", paragraphs("drop", 10)))
    await runtime.purger.purge_now([runtime.registry.delete_document("docs", drop.doc_id)])
    assert await runtime.store.count(Where(doc_id=drop.doc_id)) == 0
    assert await runtime.store.count(Where(doc_id=keep.doc_id)) == keep.chunks
    assert [d.source for d in runtime.registry.list_documents("docs")] == ["keep.txt"]


async def test_a_second_process_is_told_who_owns_the_data_folder(runtime, tmp_path, embedder):
    import os

    with pytest.raises(DataFolderBusy, match=f"in use by PID {os.getpid()}"):
        await open_runtime(tmp_path / "data", embedder)


async def test_a_restart_keeps_everything_and_reingests_nothing(tmp_path, embedder):
    data = tmp_path / "data"
    path = write_text(tmp_path, "a.txt", paragraphs("alpha", 12))
    first = await open_runtime(data, embedder)
    first.registry.create_kb("docs")
    result = await ingest(first, path)
    await first.close()
    second = await open_runtime(data, embedder)
    try:
        again = await ingest(second, path)
        assert again.outcome is Outcome.UNCHANGED
        assert len(await visible_chunks(second, result.doc_id)) == result.chunks
    finally:
        await second.close()


async def test_an_index_built_by_another_model_or_tokenizer_is_refused(tmp_path, embedder):
    from sqlalchemy import text

    from core.db.engine import Database, database_url
    from core.errors import ConfigurationError

    data = tmp_path / "data"
    first = await open_runtime(data, embedder)
    first.registry.create_kb("docs")
    await ingest(first, write_text(tmp_path, "a.txt", paragraphs("alpha", 3)))
    await first.close()
    db = Database(database_url(None, data))
    with db.write() as conn:
        conn.execute(
            text("UPDATE meta SET value='other-model (768d) + bm25-old' WHERE key='index'")
        )
    db.close()
    with pytest.raises(ConfigurationError, match="other-model"):
        await open_runtime(data, embedder)
    # The refusal released the data folder: a fixed configuration can open it.
    with pytest.raises(ConfigurationError):
        await open_runtime(data, embedder)


async def test_the_original_file_lives_as_long_as_its_version(runtime, tmp_path):
    path = write_text(tmp_path, "policy.txt", paragraphs("first policy", 3))
    first = await ingest(runtime, path)
    old = runtime.registry.get_document("docs", first.doc_id)
    kept = runtime.originals.path(old.generation, "policy.txt")
    assert kept.read_bytes() == path.read_bytes()
    write_text(tmp_path, "policy.txt", paragraphs("second policy", 3))
    await ingest(runtime, path)
    new = runtime.registry.get_document("docs", first.doc_id)
    assert runtime.originals.path(new.generation, "policy.txt").read_bytes() == path.read_bytes()
    await runtime.purger.purge(grace_s=0)
    assert not kept.exists(), "the replaced version's file goes with its chunks"
    runtime.registry.delete_document("docs", first.doc_id)
    await runtime.purger.purge(grace_s=0)
    assert not runtime.originals.path(new.generation, "policy.txt").exists()


async def test_ocr_pages_are_marked_from_payload_to_citation(runtime, tmp_path):
    path = scans.text_then_scan(tmp_path / "mixed.pdf")
    result = await ingest(runtime, path)
    assert result.outcome is Outcome.INGESTED
    where = runtime.ingestor.visible(["docs"])
    chunks = await runtime.store.scroll(where)
    assert {c.payload["page"]: c.payload["ocr"] for c in chunks} == {1: False, 2: True}
    scanned = next(c for c in chunks if c.payload["page"] == 2)
    hit = to_hit(scanned, 1.0)
    assert hit.ocr
    assert citation(1, hit).model_dump()["ocr"] is True
    [record] = runtime.registry.list_documents("docs")
    assert record.metadata["ocr_pages"] == "2"

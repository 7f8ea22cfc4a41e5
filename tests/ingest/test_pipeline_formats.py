"""Whole batches of mixed formats through the real pipeline, including Tika and real files."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from core.store import Where
from ingest.outcome import NullProgress, Outcome
from ingest.runtime import IngestRuntime
from tests.support import documents
from tests.support.env import EVAL_DIR, EVAL_MISSING
from tests.support.runtime import open_runtime
from tests.support.server import serve
from tests.support.tika_standin import create_tika_standin


@pytest.fixture
async def runtime(tmp_path: Path, embedder) -> AsyncIterator[IngestRuntime]:
    runtime = await open_runtime(tmp_path / "data", embedder, max_unzipped_bytes=10 * 2**20)
    runtime.registry.create_kb("docs")
    yield runtime
    await runtime.close()


async def ingest_all(
    runtime: IngestRuntime, paths: list[Path]
) -> dict[str, tuple[Outcome, str | None]]:
    results = {}
    for path in paths:
        result = await runtime.ingestor.ingest("docs", path, path.name, NullProgress())
        results[path.name] = (result.outcome, result.reason)
    return results


async def test_bad_pdfs_and_docx_fail_clearly_and_the_good_ones_ingest(runtime, tmp_path):
    batch = [
        documents.text_pdf(tmp_path / "report.pdf"),
        documents.encrypted_pdf(tmp_path / "locked.pdf"),
        documents.truncated_pdf(tmp_path / "cut.pdf"),
        documents.image_only_pdf(tmp_path / "scan.pdf"),
        documents.zip_bomb_docx(tmp_path / "bomb.docx", member_bytes=50 * 2**20),
        documents.sample_docx(tmp_path / "quarterly.docx"),
        documents.cjk_pdf(tmp_path / "chinese.pdf"),
    ]
    results = await ingest_all(runtime, batch)
    assert results == {
        "report.pdf": (Outcome.INGESTED, None),
        "locked.pdf": (Outcome.FAILED, "encrypted"),
        "cut.pdf": (Outcome.FAILED, "corrupt"),
        "scan.pdf": (Outcome.FAILED, "no_text"),
        "bomb.docx": (Outcome.FAILED, "unsafe_archive"),
        "quarterly.docx": (Outcome.INGESTED, None),
        "chinese.pdf": (Outcome.INGESTED, None),
    }
    report = runtime.registry.find_document("docs", "report.pdf")
    assert report is not None
    assert report.pages == len(documents.PDF_PAGES)
    chunks = await runtime.store.scroll(Where(doc_id=report.id))
    assert {c.payload["page"] for c in chunks} == {1, 2, 3}
    for chunk in chunks:
        page_lines = documents.PDF_PAGES[chunk.payload["page"] - 1]
        assert page_lines[0].split()[0] in chunk.payload["text"]
    assert runtime.registry.hidden_generations() == frozenset()
    total = sum(d.chunks for d in runtime.registry.list_documents("docs"))
    assert await runtime.store.count(Where(kbs=("docs",))) == total


@pytest.fixture
def tika_url() -> Iterator[str]:
    with serve(create_tika_standin()) as url:
        yield url


async def test_formats_without_a_native_parser_go_to_tika(tmp_path, embedder, tika_url):
    runtime = await open_runtime(tmp_path / "data", embedder, tika={"url": tika_url})
    try:
        runtime.registry.create_kb("docs")
        rtf = documents.write_text(
            tmp_path / "memo.rtf",
            r"{\rtf1\ansi{\fonttbl\f0\fswiss Helvetica;}\f0\pard Quarterly memo about leave.\par}",
        )
        results = await ingest_all(runtime, [rtf, documents.text_pdf(tmp_path / "native.pdf")])
        assert results == {
            "memo.rtf": (Outcome.INGESTED, None),
            "native.pdf": (Outcome.INGESTED, None),
        }
        assert runtime.registry.find_document("docs", "memo.rtf").parser == "tika"  # type: ignore[union-attr]
        assert runtime.registry.find_document("docs", "native.pdf").parser != "tika"  # type: ignore[union-attr]
    finally:
        await runtime.close()


EVAL_DOCS = EVAL_DIR / "documents"


@pytest.mark.slow
@pytest.mark.skipif(not EVAL_DOCS.is_dir(), reason=EVAL_MISSING)
async def test_real_documents_end_to_end(runtime):
    chosen = {
        "pdf_text/pdfjs_tracemonkey.pdf": Outcome.INGESTED,
        "pdf_cjk/chatchat_1.pdf": Outcome.INGESTED,
        "docx/textract_paragraphs_and_tables.docx": Outcome.INGESTED,
        "docx/chatchat_nuclear_psr_part1_general.docx": Outcome.INGESTED,
        "pdf_encrypted/unstructured_password.pdf": Outcome.FAILED,
        "pdf_encrypted/pypdf_r2-empty-password.pdf": Outcome.INGESTED,
        "pdf_corrupt/ocrmypdf_invalid.pdf": Outcome.FAILED,
        "pdf_corrupt/pdfplumber_empty.pdf": Outcome.FAILED,
        "pdf_scanned/ocrmypdf_linn.pdf": Outcome.INGESTED,  # by OCR
        "doc/poi_SampleDoc.doc": Outcome.INGESTED,  # by the native Tika
    }
    results = await ingest_all(runtime, [EVAL_DOCS / name for name in chosen])
    assert {name: outcome for name, (outcome, _) in results.items()} == {
        Path(name).name: outcome for name, outcome in chosen.items()
    }
    sample_doc = runtime.registry.find_document("docs", "poi_SampleDoc.doc")
    assert sample_doc is not None
    assert sample_doc.parser == "tika-native"
    scan = runtime.registry.find_document("docs", "ocrmypdf_linn.pdf")
    assert scan is not None
    scan_chunks = await runtime.store.scroll(Where(doc_id=scan.id))
    assert all(c.payload["ocr"] for c in scan_chunks)
    assert any("LinnSequencer" in c.payload["text"] for c in scan_chunks)
    tracemonkey = runtime.registry.find_document("docs", "pdfjs_tracemonkey.pdf")
    assert tracemonkey is not None
    assert tracemonkey.pages == 14
    chunks = await runtime.store.scroll(Where(doc_id=tracemonkey.id))
    assert {c.payload["page"] for c in chunks} == set(range(1, 15))
    chinese = runtime.registry.find_document("docs", "chatchat_1.pdf")
    assert chinese is not None
    cjk_chunks = await runtime.store.scroll(Where(doc_id=chinese.id))
    assert all(c.payload["token_count"] <= 240 for c in cjk_chunks)
    assert any("。" in c.payload["text"] for c in cjk_chunks)

"""Native Tika in worker processes: formats, refusals, hangs and crashes, attachments."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.errors import (
    CorruptDocument,
    EncryptedDocument,
    NoTextLayer,
    ParserCrashed,
    ParserTimeout,
)
from ingest.parsers.docx import DocxParser
from ingest.parsers.fallback import FallbackParser
from ingest.parsers.native_tika import NativeTikaParser, split_package_entries
from ingest.parsers.pdf import PdfiumParser
from ingest.parsers.select import ParserSet
from ingest.parsers.tika import TikaParser
from ingest.settings import IngestSettings
from tests.ingest.conftest import Standin
from tests.support import containers, documents

RTF = r"{\rtf1\ansi{\fonttbl{\f0 Times;}}\f0 Hello \b RTF\b0  world.\par Second paragraph.}"


@pytest.fixture
async def native() -> AsyncIterator[NativeTikaParser]:
    parser = NativeTikaParser(timeout_s=60)
    yield parser
    await parser.aclose()


@pytest.fixture
async def parsers() -> AsyncIterator[ParserSet]:
    """The embedded default: native Tika, no OCR (these files need none)."""
    settings = IngestSettings(_env_file=None)
    settings.ocr.enabled = False
    parser_set = ParserSet.from_settings(settings)
    yield parser_set
    await parser_set.aclose()


def _text(document) -> str:
    return "\n".join(page.text for page in document.pages)


async def test_rtf_is_read_without_a_server(native: NativeTikaParser, tmp_path: Path) -> None:
    path = documents.write_text(tmp_path / "legacy.rtf", RTF)
    document = await native.parse(path, path.name)
    assert " ".join(_text(document).split()) == "Hello RTF world. Second paragraph."
    assert document.metadata["content_type"].startswith("application/rtf")


async def test_the_default_set_reads_other_formats_natively(parsers: ParserSet) -> None:
    assert isinstance(parsers.tika, NativeTikaParser)
    assert parsers.tika is parsers.pick("slides.pptx")
    assert ".pptx" in parsers.supported_suffixes()


async def test_an_encrypted_pdf_is_encrypted_never_an_empty_success(
    native: NativeTikaParser, parsers: ParserSet, tmp_path: Path
) -> None:
    # Tika itself returns an encrypted PDF as a document without text; both paths refuse it.
    path = documents.encrypted_pdf(tmp_path / "locked.pdf")
    with pytest.raises(EncryptedDocument):
        await native.parse(path, path.name)
    with pytest.raises(EncryptedDocument):
        await parsers.parse(path, path.name)


async def test_a_timeout_costs_one_file_and_the_next_file_gets_a_fresh_worker(
    tmp_path: Path,
) -> None:
    parser = NativeTikaParser(timeout_s=0.001)  # no real parse finishes in a millisecond
    path = documents.text_pdf(tmp_path / "report.pdf")
    try:
        with pytest.raises(ParserTimeout, match=r"took longer than 0\.001 s"):
            await parser.parse(path, path.name)
        assert parser.worker_pids() == []  # killed, not left running
        parser.timeout_s = 60
        document = await parser.parse(path, path.name)
        assert document.page_count == len(documents.PDF_PAGES)
    finally:
        await parser.aclose()


async def test_a_crashed_worker_costs_one_file(native: NativeTikaParser, tmp_path: Path) -> None:
    path = documents.text_pdf(tmp_path / "report.pdf", [["line"] * 40] * 200)
    task = asyncio.create_task(native.parse(path, path.name))
    for _ in range(10_000):  # the worker appears as soon as the task starts it
        if native.worker_pids():
            break
        await asyncio.sleep(0.005)
    [pid] = native.worker_pids()
    os.kill(pid, signal.SIGKILL)  # what a segfault in native code looks like to the parent
    with pytest.raises(ParserCrashed, match="crashed"):
        await task
    small = documents.text_pdf(tmp_path / "small.pdf")
    assert (await native.parse(small, small.name)).page_count == len(documents.PDF_PAGES)
    assert native.worker_pids() != [pid]


async def test_a_corrupt_file_is_corrupt(native: NativeTikaParser, tmp_path: Path) -> None:
    path = documents.truncated_pdf(tmp_path / "cut.pdf")
    with pytest.raises(CorruptDocument, match="Tika could not parse it"):
        await native.parse(path, path.name)


async def test_what_python_docx_refuses_tika_may_read(
    native: NativeTikaParser, tmp_path: Path
) -> None:
    # A DOCX cut short has no zip directory: python-docx cannot open it, Tika streams it.
    whole = documents.sample_docx(tmp_path / "whole.docx").read_bytes()
    path = tmp_path / "cut.docx"
    path.write_bytes(whole[: len(whole) // 2])
    document = await FallbackParser(DocxParser(), native).parse(path, path.name)
    assert document.pages[0].text.startswith("Introduction\n\nThe first paragraph.")
    assert document.metadata["parsed_by"] == "tika-native (corrupt in docx)"


async def test_encryption_and_scans_get_no_second_opinion(
    native: NativeTikaParser, tmp_path: Path
) -> None:
    parser = FallbackParser(PdfiumParser(), native)
    locked = documents.encrypted_pdf(tmp_path / "locked.pdf", user_password="secret")
    with pytest.raises(EncryptedDocument):
        await parser.parse(locked, locked.name)
    # Tika (without OCR) reads no more of a scan than PDFium: PDFium's reason stands.
    scan = documents.image_only_pdf(tmp_path / "scan.pdf")
    with pytest.raises(NoTextLayer, match="needs OCR"):
        await parser.parse(scan, scan.name)


async def test_files_embedded_in_a_docx_follow_as_titled_pages(
    parsers: ParserSet, tmp_path: Path
) -> None:
    path = containers.docx_with_embedded_docx(tmp_path / "outer.docx", tmp_path)
    document = await parsers.parse(path, path.name)
    body = len(documents.DOCX_PAGES)
    assert [page.text for page in document.pages[:body]] == documents.DOCX_PAGES
    attachment = document.pages[body]
    assert attachment.text == "Attachment: Budget_2026.docx\n\nEmbedded budget line 42."
    assert attachment.headings[0].title == "Attachment: Budget_2026.docx"
    assert document.metadata["attachments"] == f"Budget_2026.docx (page {body + 1})"


async def test_email_attachments_are_pages_with_their_names(
    parsers: ParserSet, tmp_path: Path
) -> None:
    path = containers.email_with_attachments(tmp_path / "mail.eml", tmp_path)
    document = await parsers.parse(path, path.name)
    assert document.title == "Quarterly numbers 季度"
    first = document.pages[0].text
    assert first.startswith("Quarterly numbers 季度\n\nFrom: Ann <ann@example.com>")
    assert first.endswith(containers.MAIL_BODY)
    titles = [h.title for page in document.pages for h in page.headings if h.level == 1]
    names = ["figures.pdf", "报告.docx", "notes.txt"]
    assert titles[1:] == [f"Attachment: {name}" for name in names]
    # The PDF keeps its pages; the DOCX's headings sit under the attachment's.
    pdf_pages = [p for p in document.pages if "Page two beta" in p.text]
    assert len(pdf_pages) == 1
    assert document.metadata["attachments"] == (
        "figures.pdf (pages 2-4); 报告.docx (pages 5-6); notes.txt (page 7)"
    )
    docx_headings = [h for p in document.pages for h in p.headings if h.title == "Introduction"]
    assert docx_headings[0].level == 2
    assert containers.NOTES in _text(document)
    assert document.metadata["author"] == "Ann <ann@example.com>"


async def test_tika_server_reads_every_rmeta_object(
    tika_url: str, tika_standin: Standin, tmp_path: Path
) -> None:
    path = containers.email_with_attachments(tmp_path / "mail.eml", tmp_path)
    parser = TikaParser(tika_url, timeout_s=60)
    try:
        document = await parser.parse(path, path.name)
    finally:
        await parser.aclose()
    assert containers.MAIL_BODY.split()[-1] in document.pages[0].text
    titles = [h.title for page in document.pages for h in page.headings if h.level == 1]
    assert "Attachment: figures.pdf" in titles
    assert "Attachment: notes.txt" in titles
    assert "Page three gamma" in _text(document)


def test_package_entries_are_split_out_with_their_names() -> None:
    xhtml = (
        '<html xmlns="http://www.w3.org/1999/xhtml"><body><p>Main text</p>'
        '<div class="package-entry"><h1>sheet.xlsx</h1><div class="sheet"><p>a</p></div>'
        '<div class="package-entry"><h1>inner.txt</h1><p>nested</p></div></div>'
        '<div class="package-entry"><h1>image1.emf</h1><p>preview</p></div></body></html>'
    )
    main, entries = split_package_entries(xhtml)
    assert "Main text" in main
    assert "package-entry" not in main
    assert [name for name, _ in entries] == ["sheet.xlsx", "image1.emf"]
    assert "<h1>inner.txt</h1>" in entries[0][1]
    assert "nested" in entries[0][1]

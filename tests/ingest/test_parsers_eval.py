"""The parsers on real third-party files from ../shared/eval/documents (skipped when absent)."""

from __future__ import annotations

import asyncio
import csv
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.errors import CorruptDocument, DocumentError, EncryptedDocument, NoTextLayer
from ingest.document import ParsedDocument
from ingest.parsers.base import Parser
from ingest.parsers.docx import DocxParser
from ingest.parsers.html import HtmlParser
from ingest.parsers.pdf import PdfiumParser
from ingest.parsers.select import ParserSet
from ingest.parsers.text import PlainTextParser
from ingest.parsers.tika import TikaParser
from ingest.settings import IngestSettings
from tests.ingest.conftest import Standin

pytestmark = pytest.mark.slow

# PDFs that open without a password although they are encrypted (empty user password).
OPEN_ENCRYPTED = {
    "pypdf_r2-empty-password.pdf",
    "pypdf_r6-owner-password.pdf",
    "unstructured_copy-protected.pdf",
}
# PDFium has no /BrotliDecode filter (pdf.js and MuPDF do): refused as corrupt, clearly.
PDFIUM_CANNOT_READ = {"pdfjs_Brotli-Prototype-FileA.pdf"}
# DOCX files with images or empty tables only.
DOCX_WITHOUT_TEXT = {"pydocx_having-images.docx", "pydocx_tbl-having-tables.docx"}
DOCX_BROKEN = {
    "poi_zero-length.docx",
    "poi_truncated62886.docx",
    "poi_clusterfuzz-testcase-minimized-POIXWPFFuzzer-4791943399604224.docx",
}
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
TIMEOUT_S = 60


def _files(documents: Path, folder: str, suffix: str) -> list[Path]:
    return sorted(path for path in (documents / folder).iterdir() if path.suffix == suffix)


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def _text(document: ParsedDocument) -> str:
    return "\n".join(page.text for page in document.pages)


def _recall(expected: Path, document: ParsedDocument) -> float:
    """The share of the expected text's words that the parsed document has."""
    want = _words(expected.read_text(errors="replace"))
    return len(want & _words(_text(document))) / len(want)


async def _parse(parser: Parser, path: Path) -> ParsedDocument:
    # A hang is a failure too: no real file may keep a parser busy for a minute.
    return await asyncio.wait_for(parser.parse(path, path.name), TIMEOUT_S)


def _manifest_pages(documents: Path) -> dict[str, int]:
    with (documents / "manifest.csv").open(newline="", encoding="utf-8") as file:
        rows = csv.DictReader(file)
        return {row["file"]: int(row["pages"]) for row in rows if row["pages"].isdigit()}


async def test_text_pdfs_parse_with_their_page_counts(eval_documents: Path) -> None:
    parser, pages = PdfiumParser(), _manifest_pages(eval_documents)
    for path in _files(eval_documents, "pdf_text", ".pdf"):
        if path.name in PDFIUM_CANNOT_READ:
            with pytest.raises(DocumentError, match="cannot read this PDF"):
                await _parse(parser, path)
            continue
        document = await _parse(parser, path)
        assert document.char_count > 0, path.name
        assert document.page_count == pages.get(f"pdf_text/{path.name}", document.page_count)


async def test_an_unreadable_pdf_after_an_encrypted_one_is_corrupt_not_encrypted(
    eval_documents: Path,
) -> None:
    # PDFium leaves its last error code behind; the Brotli file used to inherit "password".
    parser = PdfiumParser()
    with pytest.raises(EncryptedDocument):
        await _parse(parser, eval_documents / "pdf_encrypted" / "unstructured_password.pdf")
    with pytest.raises(CorruptDocument):
        await _parse(parser, eval_documents / "pdf_text" / "pdfjs_Brotli-Prototype-FileA.pdf")


async def test_encrypted_pdfs_are_refused_unless_they_open_freely(eval_documents: Path) -> None:
    parser = PdfiumParser()
    for path in _files(eval_documents, "pdf_encrypted", ".pdf"):
        if path.name in OPEN_ENCRYPTED:
            assert (await _parse(parser, path)).char_count > 0, path.name
        else:
            with pytest.raises(EncryptedDocument):
                await _parse(parser, path)


async def _refusal(parser: Parser, path: Path) -> DocumentError | None:
    """The DocumentError parsing raised, or None when it parsed; anything else fails."""
    try:
        await _parse(parser, path)
    except DocumentError as exc:
        return exc
    return None


async def test_corrupt_pdfs_parse_or_raise_a_document_error(eval_documents: Path) -> None:
    parser = PdfiumParser()
    paths = _files(eval_documents, "pdf_corrupt", ".pdf")
    refusals = {path.name: await _refusal(parser, path) for path in paths}
    reasons = {name: error.reason for name, error in refusals.items() if error}
    assert reasons["pdfplumber_empty.pdf"] == "empty"
    assert reasons["ocrmypdf_invalid.pdf"] == "corrupt"


async def test_scanned_pdfs_mostly_need_ocr(eval_documents: Path) -> None:
    parser, scans = PdfiumParser(), _files(eval_documents, "pdf_scanned", ".pdf")
    refusals = [await _refusal(parser, path) for path in scans]
    needs_ocr = [error for error in refusals if isinstance(error, NoTextLayer)]
    assert all("needs OCR" in error.message for error in needs_ocr)
    # Two of them carry a (partly garbage) text layer over the scan, as the manifest says.
    assert len(needs_ocr) >= len(scans) - 2
    assert all(error is None or isinstance(error, NoTextLayer) for error in refusals)


async def test_cjk_pdfs_keep_their_script(eval_documents: Path) -> None:
    parser, rich = PdfiumParser(), 0
    for path in _files(eval_documents, "pdf_cjk", ".pdf"):
        count = len(CJK.findall(_text(await _parse(parser, path))))
        assert count > 0, path.name
        rich += count >= 100
    assert rich >= 7


async def test_forms_and_annotations_parse(eval_documents: Path) -> None:
    parser = PdfiumParser()
    for path in _files(eval_documents, "pdf_forms_annots", ".pdf"):
        assert (await _parse(parser, path)).char_count > 0, path.name


async def test_docx_files_parse_or_say_why(eval_documents: Path) -> None:
    parser = DocxParser()
    for path in _files(eval_documents, "docx", ".docx"):
        if path.name == "poi_bug53475-password-is-pass.docx":
            with pytest.raises(EncryptedDocument):
                await _parse(parser, path)
        elif path.name in DOCX_BROKEN | DOCX_WITHOUT_TEXT:
            with pytest.raises(DocumentError):
                await _parse(parser, path)
        else:
            document = await _parse(parser, path)
            assert document.char_count > 0, path.name
            for page in document.pages:
                assert all(page.text[h.offset :].startswith(h.title) for h in page.headings)


async def test_word_page_breaks_become_pages(eval_documents: Path) -> None:
    path = eval_documents / "docx" / "unstructured_page-breaks.docx"
    pages = (await _parse(DocxParser(), path)).pages
    assert len(pages) == 5
    assert pages[1].text.startswith("<<Text on second page")
    assert pages[4].text == "<<and then more text proceeds."


@pytest.mark.parametrize("folder", ["docx", "pdf_text"])
async def test_expected_texts_match(eval_documents: Path, folder: str) -> None:
    parser: Parser = DocxParser() if folder == "docx" else PdfiumParser()
    for expected in sorted((eval_documents / folder).glob("*.expected.txt")):
        path = expected.with_name(expected.name.removesuffix(".expected.txt"))
        # Hyphenated line ends ("algo-\nrithm") are the only misses PDFium leaves.
        assert _recall(expected, await _parse(parser, path)) >= 0.9, path.name


async def test_parity_set_reads_alike(eval_documents: Path) -> None:
    folder = eval_documents / "parity_set"
    reference = _words(
        _text(await _parse(PlainTextParser(), folder / "unstructured_eng_spa_mult.txt"))
    )
    for parser, name in (
        (DocxParser(), "unstructured_eng_spa_mult.docx"),
        (HtmlParser(), "unstructured_eng_spa_mult.html"),
    ):
        got = _words(_text(await _parse(parser, folder / name)))
        assert len(reference & got) / len(reference) >= 0.95, name


@pytest.fixture
async def tika(tika_url: str) -> AsyncIterator[TikaParser]:
    parser = TikaParser(tika_url, timeout_s=120)
    yield parser
    await parser.aclose()


async def test_tika_reads_office_formats(
    tika: TikaParser, tika_url: str, tika_standin: Standin, eval_documents: Path
) -> None:
    """Every other_office file with an expected text; the stand-in only knows RTF."""
    for expected in sorted((eval_documents / "other_office").glob("*.expected.txt")):
        path = expected.with_name(expected.name.removesuffix(".expected.txt"))
        if tika_url == tika_standin.url and path.suffix != ".rtf":
            continue
        assert _recall(expected, await _parse(tika, path)) >= 0.9, path.name


# What the embedded default (native Tika, OCR) still refuses, and why; everything else in
# ../shared/eval/documents must be read. Before native Tika and OCR, 68 files were refused.
ENCRYPTED = {
    "pdf_encrypted/pdfjs_issue3371.pdf",
    "pdf_encrypted/pdfjs_issue6010_2.pdf",
    "pdf_encrypted/pdfminer_aes-256-m.pdf",
    "pdf_encrypted/pdfminer_rc4-40.pdf",
    "pdf_encrypted/pypdf_r4-aes-user-password.pdf",
    "pdf_encrypted/pypdf_r4-user-password.pdf",
    "pdf_encrypted/pypdf_r6-user-password.pdf",
    "pdf_encrypted/pysamples_libreoffice-writer-password.pdf",
    "pdf_encrypted/unstructured_password.pdf",
    "docx/poi_bug53475-password-is-pass.docx",
    "doc/poi_PasswordProtected.doc",
    "doc/poi_password_password_cryptoapi.doc",
    "other_office/unstructured_password_protected.xlsx",
}
CORRUPT = {
    "pdf_corrupt/ocrmypdf_invalid.pdf",
    "pdf_corrupt/pdfjs_REDHAT-1531897-0.pdf",
    "pdf_corrupt/pdfjs_poppler-395-0-fuzzed.pdf",
    "pdf_text/pdfjs_Brotli-Prototype-FileA.pdf",  # /BrotliDecode: neither PDFium nor PDFBox
    "doc/poi_Fuzzed.doc",
    "doc/poi_clusterfuzz-testcase-minimized-POIHWPFFuzzer-5418937293340672.doc",
    # Fuzzed PDFs whose one page renders blank: nothing for OCR either.
    "pdf_corrupt/pdfjs_GHOSTSCRIPT-698804-1-fuzzed.pdf",
    "pdf_corrupt/pdfjs_poppler-85140-0.pdf",
}
EMPTY = {
    "pdf_corrupt/pdfplumber_empty.pdf",  # 0 bytes
    "doc/poi_empty.doc",  # an empty Word document
    "docx/poi_zero-length.docx",  # an empty body (and a picture in the header)
    "docx/pydocx_having-images.docx",  # pictures only
    "docx/pydocx_tbl-having-tables.docx",  # empty tables only
}
REASONS = {"encrypted": ENCRYPTED, "corrupt": CORRUPT, "empty": EMPTY}
WHY = {
    "encrypted": {"encrypted"},
    "corrupt": {"corrupt", "no_text"},
    "empty": {"empty", "unreadable"},
}


def _documents(folder: Path) -> list[tuple[Path, str]]:
    """Every eval document with its name under the folder (manifests and expected texts aside)."""
    found = []
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if path.is_file() and not path.name.startswith("manifest.") and ".expected." not in name:
            found.append((path, name))
    return found


async def test_the_embedded_default_reads_all_but_encrypted_corrupt_and_empty_files(
    eval_documents: Path,
) -> None:
    settings = IngestSettings(_env_file=None)  # the embedded default: native Tika and OCR
    settings.ocr.page_timeout_s = 600  # a loaded 2-core machine must not fail a slow page
    parsers = ParserSet.from_settings(settings)
    expected_pages = _manifest_pages(eval_documents)
    refused: dict[str, str] = {}
    wrong_pages: dict[str, tuple[int, int]] = {}
    try:
        for path, name in await asyncio.to_thread(_documents, eval_documents):
            try:
                document = await parsers.parse(path, name)
            except DocumentError as exc:
                refused[name] = exc.reason
                continue
            assert document.char_count > 0, name
            want = expected_pages.get(name)
            if want is not None and document.page_count != want:
                wrong_pages[name] = (document.page_count, want)
    finally:
        await parsers.aclose()
    assert set(refused) == ENCRYPTED | CORRUPT | EMPTY
    for kind, names in REASONS.items():
        assert {refused[name] for name in names} <= WHY[kind], kind
    assert wrong_pages == {}

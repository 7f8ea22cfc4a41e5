"""ParserSet: which parser reads which file, and the content sniff before it does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.errors import CorruptDocument, EmptyFile, EncryptedDocument, UnsupportedFormat
from ingest.parsers.docx import DocxParser
from ingest.parsers.fallback import FallbackParser
from ingest.parsers.html import HtmlParser
from ingest.parsers.native_tika import NativeTikaParser
from ingest.parsers.pdf import PdfiumParser
from ingest.parsers.select import NATIVE_SUFFIXES, ParserSet
from ingest.parsers.text import MarkdownParser, PlainTextParser
from ingest.parsers.tika import TikaParser
from ingest.settings import IngestSettings, TikaSettings
from tests.ingest.conftest import Standin
from tests.support import documents


@pytest.fixture
async def with_tika(tika_standin: Standin) -> AsyncIterator[ParserSet]:
    parsers = ParserSet(tika=TikaParser(tika_standin.url, timeout_s=30))
    yield parsers
    await parsers.aclose()


@pytest.mark.parametrize(
    ("filename", "kind"),
    [
        ("a.pdf", PdfiumParser),
        ("B.PDF", PdfiumParser),
        ("c.docx", DocxParser),
        ("d.txt", PlainTextParser),
        ("e.md", MarkdownParser),
        ("f.markdown", MarkdownParser),
        ("g.html", HtmlParser),
        ("h.htm", HtmlParser),
    ],
)
def test_native_parsers_by_suffix(filename: str, kind: type) -> None:
    assert isinstance(ParserSet().pick(filename), kind)


def test_without_tika_other_formats_are_unsupported_and_say_why() -> None:
    with pytest.raises(UnsupportedFormat) as caught:
        ParserSet().pick("slides.pptx")
    message = caught.value.message
    assert ".pptx" in message
    assert ".pdf .docx .txt" in message
    assert "TIKA_URL" in message


async def test_with_tika_other_formats_go_to_tika(with_tika: ParserSet) -> None:
    assert isinstance(with_tika.pick("letter.rtf"), TikaParser)
    assert isinstance(with_tika.pick("no-suffix"), TikaParser)
    pdf = with_tika.pick("a.pdf")
    # PDFium first; Tika only when PDFium refuses the file for a reason Tika may overcome.
    assert isinstance(pdf, FallbackParser)
    assert isinstance(pdf.primary, PdfiumParser)
    assert pdf.fallback is with_tika.tika
    assert ".rtf" in with_tika.supported_suffixes()


def test_supported_suffixes_without_tika() -> None:
    assert ParserSet().supported_suffixes() == NATIVE_SUFFIXES


async def test_settings_can_send_everything_to_tika(tika_standin: Standin) -> None:
    tika = TikaSettings(url=tika_standin.url, for_all=True)
    settings = IngestSettings(_env_file=None, tika=tika, max_unzipped_bytes=1234)
    parsers = ParserSet.from_settings(settings)
    assert isinstance(parsers.pick("a.pdf"), TikaParser)
    docx_parser = next(
        p.primary for p in parsers.native if isinstance(p, FallbackParser) and p.name == "docx"
    )
    assert isinstance(docx_parser, DocxParser)
    assert docx_parser.max_unzipped_bytes == 1234
    await parsers.aclose()


async def test_settings_without_tika_url_use_the_native_tika() -> None:
    parsers = ParserSet.from_settings(IngestSettings(_env_file=None))
    assert isinstance(parsers.tika, NativeTikaParser)
    assert parsers.pick("letter.rtf") is parsers.tika
    assert parsers.ocr is not None
    await parsers.aclose()


def test_native_tika_and_ocr_can_be_turned_off() -> None:
    settings = IngestSettings(_env_file=None)
    settings.native_tika.enabled = False
    settings.ocr.enabled = False
    parsers = ParserSet.from_settings(settings)
    assert (parsers.tika, parsers.ocr) == (None, None)
    with pytest.raises(UnsupportedFormat):
        parsers.pick("letter.rtf")


async def test_tika_reads_what_native_parsers_cannot(with_tika: ParserSet, tmp_path: Path) -> None:
    path = documents.write_text(tmp_path / "letter.rtf", r"{\rtf1\ansi Dear reader.\par}")
    document = await with_tika.parse(path, path.name)
    assert document.pages[0].text.strip() == "Dear reader."


async def test_a_renamed_file_is_not_a_pdf_even_for_tika(
    tika_standin: Standin, tmp_path: Path
) -> None:
    parsers = ParserSet(tika=TikaParser(tika_standin.url), tika_for_all=True)
    path = documents.write_text(tmp_path / "report.pdf", "<html>a web page</html>")
    with pytest.raises(CorruptDocument, match="not a PDF"):
        await parsers.parse(path, path.name)
    await parsers.aclose()


async def test_encrypted_office_file_named_docx(tmp_path: Path) -> None:
    path = documents.ole2_encrypted_docx(tmp_path / "locked.docx")
    with pytest.raises(EncryptedDocument):
        await ParserSet().parse(path, path.name)


async def test_zero_bytes_are_an_empty_file(tmp_path: Path) -> None:
    path = documents.empty_file(tmp_path / "nothing.docx")
    with pytest.raises(EmptyFile):
        await ParserSet().parse(path, path.name)


async def test_native_parse_through_the_set(tmp_path: Path) -> None:
    path = documents.text_pdf(tmp_path / "report.pdf")
    document = await ParserSet().parse(path, path.name)
    assert document.page_count == len(documents.PDF_PAGES)

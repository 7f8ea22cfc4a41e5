"""PdfiumParser beyond the contract: CJK, scans, passwords, broken files, dates."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from core.errors import CorruptDocument, EncryptedDocument, NoTextLayer
from ingest.parsers.pdf import PdfiumParser, clean_text, pdf_date
from tests.support import documents


@pytest.fixture
def parser() -> PdfiumParser:
    return PdfiumParser()


async def test_cjk_text_comes_out_as_unicode(parser: PdfiumParser, tmp_path: Path) -> None:
    path = documents.cjk_pdf(tmp_path / "中文.pdf")
    document = await parser.parse(path, path.name)
    assert document.pages[0].text == documents.CJK_TEXT
    assert document.title == "中文"


async def test_pages_without_text_need_ocr(parser: PdfiumParser, tmp_path: Path) -> None:
    path = documents.image_only_pdf(tmp_path / "scan.pdf")
    with pytest.raises(NoTextLayer, match=r"no text layer: needs OCR"):
        await parser.parse(path, path.name)


async def test_password_protected_pdf_is_refused(parser: PdfiumParser, tmp_path: Path) -> None:
    path = documents.encrypted_pdf(tmp_path / "locked.pdf")
    with pytest.raises(EncryptedDocument, match="password protected"):
        await parser.parse(path, path.name)


async def test_empty_user_password_opens_like_any_pdf(parser: PdfiumParser, tmp_path: Path) -> None:
    path = documents.encrypted_pdf(tmp_path / "restricted.pdf", user_password="")
    document = await parser.parse(path, path.name)
    assert document.pages[0].text == "behind a password"


async def test_truncated_pdf_is_corrupt(parser: PdfiumParser, tmp_path: Path) -> None:
    path = documents.truncated_pdf(tmp_path / "cut.pdf")
    with pytest.raises(CorruptDocument, match="cannot read this PDF"):
        await parser.parse(path, path.name)


async def test_text_named_pdf_is_not_a_pdf(parser: PdfiumParser, tmp_path: Path) -> None:
    path = documents.write_text(tmp_path / "fake.pdf", "just words")
    with pytest.raises(CorruptDocument, match="not a PDF"):
        await parser.parse(path, path.name)


async def test_placeholder_title_falls_back_to_the_file_name(
    parser: PdfiumParser, tmp_path: Path
) -> None:
    path = documents.text_pdf(tmp_path / "minutes-2024.pdf", title=None)
    document = await parser.parse(path, "minutes-2024.pdf")
    assert document.title == "minutes-2024"


async def test_metadata_has_author_producer_and_iso_dates(
    parser: PdfiumParser, tmp_path: Path
) -> None:
    path = documents.text_pdf(tmp_path / "report.pdf")
    metadata = (await parser.parse(path, path.name)).metadata
    assert metadata["author"] == "Ann Author"
    assert "ReportLab" in metadata["producer"]
    iso = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d"
    assert re.fullmatch(iso + r"[+-]\d\d:\d\d", metadata["created"])
    assert re.fullmatch(iso + r"([+-]\d\d:\d\d)?", metadata["modified"])


async def test_concurrent_parses_take_turns_with_pdfium(
    parser: PdfiumParser, tmp_path: Path
) -> None:
    paths = [documents.text_pdf(tmp_path / f"copy{index}.pdf") for index in range(8)]
    parsed = await asyncio.gather(*(parser.parse(path, path.name) for path in paths))
    assert {document.pages[1].text for document in parsed} == {"Page two beta"}


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("D:20090101120000Z", "2009-01-01T12:00:00+00:00"),
        ("D:20220414132421+05'24'", "2022-04-14T13:24:21+05:24"),
        ("D:19990209153925-08'00'", "1999-02-09T15:39:25-08:00"),
        ("D:20230421160435Z00'00'", "2023-04-21T16:04:35+00:00"),
        ("D:2009", "2009-01-01T00:00:00"),
        ("D:20091399", None),
        ("yesterday", None),
    ],
)
def test_pdf_dates_become_iso_8601(raw: str, iso: str | None) -> None:
    assert pdf_date(raw) == iso


def test_clean_text_keeps_words_and_drops_pdfium_markers() -> None:
    assert clean_text("com\ufffepile\r\nnext\x04\x05 line\rend") == "compile\nnext line\nend"

"""DocxParser beyond the contract: zip bombs, wrong containers, breaks and headings."""

from __future__ import annotations

import zipfile
from pathlib import Path

import docx
import pytest
from docx.enum.text import WD_BREAK
from docx.oxml import parse_xml

from core.errors import CorruptDocument, DocumentError, EncryptedDocument, UnsafeArchive
from ingest.parsers.docx import DocxParser
from tests.support import documents

MIB = 1024 * 1024


@pytest.fixture
def parser() -> DocxParser:
    return DocxParser()


async def test_metadata_has_author_and_iso_dates(parser: DocxParser, tmp_path: Path) -> None:
    path = documents.sample_docx(tmp_path / "report.docx")
    metadata = (await parser.parse(path, path.name)).metadata
    assert metadata["author"] == "Bo Writer"
    assert metadata["created"].endswith("+00:00")


async def test_heading_levels_follow_the_styles(parser: DocxParser, tmp_path: Path) -> None:
    path = documents.sample_docx(tmp_path / "report.docx")
    document = await parser.parse(path, path.name)
    levels = [(h.title, h.level) for page in document.pages for h in page.headings]
    assert levels == [("Introduction", 1), ("Details", 2), ("Appendix", 1)]


async def test_declared_size_over_the_limit_is_unsafe(tmp_path: Path) -> None:
    path = documents.zip_bomb_docx(tmp_path / "big.docx", member_bytes=4 * MIB)
    with pytest.raises(UnsafeArchive, match="would decompress to"):
        await DocxParser(max_unzipped_bytes=2 * MIB).parse(path, path.name)


async def test_absurd_compression_ratio_is_unsafe(parser: DocxParser, tmp_path: Path) -> None:
    path = documents.zip_bomb_docx(tmp_path / "bomb.docx", member_bytes=24 * MIB)
    assert path.stat().st_size < MIB  # the point: tiny on disk, huge inflated
    with pytest.raises(UnsafeArchive, match="zip bomb"):
        await parser.parse(path, path.name)


async def test_too_many_entries_is_unsafe(parser: DocxParser, tmp_path: Path) -> None:
    path = documents.many_entries_docx(tmp_path / "many.docx", entries=10_001)
    with pytest.raises(UnsafeArchive, match="zip entries"):
        await parser.parse(path, path.name)


async def test_zip_without_word_document_is_corrupt(parser: DocxParser, tmp_path: Path) -> None:
    path = documents.docx_without_document_part(tmp_path / "other.docx")
    with pytest.raises(CorruptDocument, match=r"no word/document\.xml"):
        await parser.parse(path, path.name)


async def test_not_a_zip_is_corrupt(parser: DocxParser, tmp_path: Path) -> None:
    path = documents.write_text(tmp_path / "plain.docx", "plain words")
    with pytest.raises(CorruptDocument, match="not a DOCX"):
        await parser.parse(path, path.name)


async def test_encrypted_ooxml_is_encrypted(parser: DocxParser, tmp_path: Path) -> None:
    path = documents.ole2_encrypted_docx(tmp_path / "locked.docx")
    with pytest.raises(EncryptedDocument, match="password protected"):
        await parser.parse(path, path.name)


async def test_truncated_zip_is_corrupt(parser: DocxParser, tmp_path: Path) -> None:
    whole = documents.sample_docx(tmp_path / "whole.docx").read_bytes()
    path = tmp_path / "cut.docx"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(CorruptDocument, match="not a readable zip"):
        await parser.parse(path, path.name)


async def test_broken_document_xml_is_corrupt(parser: DocxParser, tmp_path: Path) -> None:
    source = documents.sample_docx(tmp_path / "source.docx")
    path = tmp_path / "broken.docx"
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(path, "w") as new:
        for name in old.namelist():
            data = b"<w:document" if name == "word/document.xml" else old.read(name)
            new.writestr(name, data)
    with pytest.raises(CorruptDocument, match="cannot read this DOCX"):
        await parser.parse(path, path.name)


async def test_document_without_text_says_so(parser: DocxParser, tmp_path: Path) -> None:
    path = tmp_path / "blank.docx"
    docx.Document().save(str(path))
    with pytest.raises(DocumentError, match="contains no text"):
        await parser.parse(path, path.name)


async def test_rendered_page_breaks_split_pages_once(parser: DocxParser, tmp_path: Path) -> None:
    """Word's explicit break plus its rendered marker on the next page is one boundary."""
    path = tmp_path / "rendered.docx"
    document = docx.Document()
    document.add_paragraph("one").add_run().add_break(WD_BREAK.PAGE)
    marked = document.add_paragraph()
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    marked._p.append(parse_xml(f"<w:r {w}><w:lastRenderedPageBreak/><w:t>two</w:t></w:r>"))
    flowing = document.add_paragraph("three ")
    flowing._p.append(parse_xml(f"<w:r {w}><w:lastRenderedPageBreak/><w:t>four</w:t></w:r>"))
    document.save(str(path))
    pages = (await parser.parse(path, path.name)).pages
    assert [page.text for page in pages] == ["one", "two\n\nthree", "four"]

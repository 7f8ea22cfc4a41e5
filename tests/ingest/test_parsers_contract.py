"""The Parser contract (ingest/parsers/base.py), run by every implementation."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from core.errors import EmptyFile, FileMissing
from ingest.parsers.base import Parser
from ingest.parsers.docx import DocxParser
from ingest.parsers.fallback import FallbackParser
from ingest.parsers.html import HtmlParser
from ingest.parsers.mail import EmailParser
from ingest.parsers.native_tika import NativeTikaParser
from ingest.parsers.pdf import PdfiumParser
from ingest.parsers.select import ParserSet
from ingest.parsers.text import MarkdownParser, PlainTextParser
from ingest.parsers.tika import TikaParser
from tests.support import documents


@dataclass
class Sample:
    """A file and what the parser must make of it."""

    path: Path
    title: str
    pages: list[str]
    headings: list[str] = field(default_factory=list)
    # Tika servers differ in whitespace; everything else must match character for character.
    exact: bool = True


def _squash(text: str) -> str:
    return " ".join(text.split())


class ParserContract:
    """Mix-in suite: a subclass provides `parser` and `sample` fixtures."""

    async def test_pages_are_numbered_one_to_n(self, parser: Parser, sample: Sample) -> None:
        document = await parser.parse(sample.path, sample.path.name)
        assert [page.number for page in document.pages] == list(range(1, len(sample.pages) + 1))

    async def test_page_text_is_what_the_file_says(self, parser: Parser, sample: Sample) -> None:
        document = await parser.parse(sample.path, sample.path.name)
        texts = [page.text for page in document.pages]
        if sample.exact:
            assert texts == sample.pages
        else:
            assert [_squash(text) for text in texts] == [_squash(text) for text in sample.pages]

    async def test_title(self, parser: Parser, sample: Sample) -> None:
        document = await parser.parse(sample.path, sample.path.name)
        assert document.title == sample.title

    async def test_heading_offsets_point_at_their_titles(
        self, parser: Parser, sample: Sample
    ) -> None:
        document = await parser.parse(sample.path, sample.path.name)
        headings = [(page, heading) for page in document.pages for heading in page.headings]
        assert [heading.title for _, heading in headings] == sample.headings
        for page, heading in headings:
            assert page.text[heading.offset :].startswith(heading.title)
            assert 1 <= heading.level <= 6

    async def test_metadata_is_strings(self, parser: Parser, sample: Sample) -> None:
        document = await parser.parse(sample.path, sample.path.name)
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in document.metadata.items())

    async def test_missing_file_raises_file_missing(self, parser: Parser, sample: Sample) -> None:
        with pytest.raises(FileMissing, match="not found"):
            await parser.parse(sample.path.with_name("gone" + sample.path.suffix), "gone")

    async def test_empty_file_raises_empty_file(self, parser: Parser, sample: Sample) -> None:
        empty = documents.empty_file(sample.path.with_name("empty" + sample.path.suffix))
        with pytest.raises(EmptyFile, match="empty"):
            await parser.parse(empty, empty.name)

    def test_handles_its_suffix_and_parses_off_the_event_loop(
        self, parser: Parser, sample: Sample
    ) -> None:
        assert parser.handles(sample.path.suffix)
        assert inspect.iscoroutinefunction(parser.parse)
        assert parser.name


class TestPdfiumParser(ParserContract):
    @pytest.fixture
    def parser(self) -> Parser:
        return PdfiumParser()

    @pytest.fixture
    def sample(self, tmp_path: Path) -> Sample:
        path = documents.text_pdf(tmp_path / "report.pdf")
        pages = ["\n".join(lines) for lines in documents.PDF_PAGES]
        return Sample(path, "Known Title", pages)


class TestDocxParser(ParserContract):
    @pytest.fixture
    def parser(self) -> Parser:
        return DocxParser()

    @pytest.fixture
    def sample(self, tmp_path: Path) -> Sample:
        path = documents.sample_docx(tmp_path / "report.docx")
        headings = ["Introduction", "Details", "Appendix"]
        return Sample(path, documents.DOCX_TITLE, documents.DOCX_PAGES, headings)


class TestPlainTextParser(ParserContract):
    @pytest.fixture
    def parser(self) -> Parser:
        return PlainTextParser()

    @pytest.fixture
    def sample(self, tmp_path: Path) -> Sample:
        path = documents.write_text(tmp_path / "notes.txt", "First line\r\nsecond line\n\nend\n")
        return Sample(path, "notes", ["First line\nsecond line\n\nend\n"])


class TestMarkdownParser(ParserContract):
    TEXT = "# Guide\n\nIntro.\n\n```\n# not a heading\n```\n\n## Setup ##\n\nSteps.\n"

    @pytest.fixture
    def parser(self) -> Parser:
        return MarkdownParser()

    @pytest.fixture
    def sample(self, tmp_path: Path) -> Sample:
        path = documents.write_text(tmp_path / "guide.md", self.TEXT)
        return Sample(path, "Guide", [self.TEXT], ["Guide", "Setup"])


class TestHtmlParser(ParserContract):
    HTML = (
        "<html><head><title>Handbook</title><style>p {color: red}</style></head><body>"
        "<script>var hidden = 1;</script><h1>Welcome</h1><p>Read   this\nfirst.</p>"
        "<h2>Table</h2><table><tr><th>k</th><th>v</th></tr><tr><td>a</td><td>1</td></tr>"
        "</table></body></html>"
    )

    @pytest.fixture
    def parser(self) -> Parser:
        return HtmlParser()

    @pytest.fixture
    def sample(self, tmp_path: Path) -> Sample:
        path = documents.write_text(tmp_path / "handbook.html", self.HTML)
        text = "Welcome\n\nRead this first.\n\nTable\n\nk | v\na | 1"
        return Sample(path, "Handbook", [text], ["Welcome", "Table"])


class TestTikaParser(ParserContract):
    @pytest.fixture
    async def parser(self, tika_url: str) -> AsyncIterator[Parser]:
        parser = TikaParser(tika_url, timeout_s=60)
        yield parser
        await parser.aclose()

    @pytest.fixture
    def sample(self, tmp_path: Path) -> Sample:
        path = documents.text_pdf(tmp_path / "report.pdf")
        pages = ["\n".join(lines) for lines in documents.PDF_PAGES]
        return Sample(path, "Known Title", pages, exact=False)


class TestNativeTikaParser(ParserContract):
    @pytest.fixture
    async def parser(self) -> AsyncIterator[Parser]:
        parser = NativeTikaParser(timeout_s=60)
        yield parser
        await parser.aclose()

    @pytest.fixture
    def sample(self, tmp_path: Path) -> Sample:
        path = documents.text_pdf(tmp_path / "report.pdf")
        pages = ["\n".join(lines) for lines in documents.PDF_PAGES]
        return Sample(path, "Known Title", pages, exact=False)


class TestEmailParser(ParserContract):
    MAIL = (
        "From: Ann <ann@example.com>\r\nTo: bob@example.com\r\n"
        "Date: Tue, 03 Nov 2026 10:00:00 +0000\r\nSubject: Meeting notes\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nLine one.\r\n\r\nLine two.\r\n"
    )

    @pytest.fixture
    def parser(self) -> Parser:
        return EmailParser(ParserSet().parse)

    @pytest.fixture
    def sample(self, tmp_path: Path) -> Sample:
        path = documents.write_text(tmp_path / "notes.eml", self.MAIL)
        text = (
            "Meeting notes\n\nFrom: Ann <ann@example.com>\nTo: bob@example.com\n"
            "Date: Tue, 03 Nov 2026 10:00:00 +0000\n\nLine one.\n\nLine two."
        )
        return Sample(path, "Meeting notes", [text], ["Meeting notes"])


class TestFallbackParser(ParserContract):
    """python-docx first, the native Tika second: the pair is a parser like any other."""

    @pytest.fixture
    async def parser(self) -> AsyncIterator[Parser]:
        native = NativeTikaParser(timeout_s=60)
        yield FallbackParser(DocxParser(attachments=native), native)
        await native.aclose()

    @pytest.fixture
    def sample(self, tmp_path: Path) -> Sample:
        path = documents.sample_docx(tmp_path / "report.docx")
        headings = ["Introduction", "Details", "Appendix"]
        return Sample(path, documents.DOCX_TITLE, documents.DOCX_PAGES, headings)

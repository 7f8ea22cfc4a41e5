"""Which parser reads which file: in-process parsers first, Apache Tika for everything else."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from core.errors import UnsupportedFormat
from ingest.document import ParsedDocument
from ingest.parsers.base import Parser
from ingest.parsers.docx import DEFAULT_MAX_UNZIPPED_BYTES, DocxParser
from ingest.parsers.fallback import FallbackParser
from ingest.parsers.html import HtmlParser
from ingest.parsers.mail import EmailParser
from ingest.parsers.native_tika import NativeTikaParser
from ingest.parsers.ocr import PageOcr
from ingest.parsers.pdf import PdfiumParser
from ingest.parsers.sniff import check_content
from ingest.parsers.text import MarkdownParser, PlainTextParser
from ingest.parsers.tika import TikaParser
from ingest.settings import IngestSettings

NATIVE_SUFFIXES = (".pdf", ".docx", ".txt", ".md", ".markdown", ".html", ".htm", ".eml")
# What a folder scan picks up when a Tika is there; `pick` itself takes any suffix then.
TIKA_SUFFIXES = (
    ".doc", ".docm", ".dot", ".dotx", ".rtf", ".odt", ".ott", ".wpd", ".pages",
    ".ppt", ".pptx", ".pptm", ".odp", ".key",
    ".xls", ".xlsx", ".xlsm", ".ods", ".csv", ".tsv", ".numbers",
    ".epub", ".msg", ".mht", ".mhtml", ".xhtml", ".xml", ".rst", ".tex",
)  # fmt: skip
Tika = TikaParser | NativeTikaParser


class ParserSet:
    """Picks and runs the parser for each file name.

    The in-process parsers read .pdf .docx .txt .md .markdown .html .htm .eml unless
    `tika_for_all`; Tika (a server, or the native build in worker processes) reads every
    other suffix, and PDFs and DOCX files that PDFium or python-docx refuse for a reason it
    may overcome. `ocr` reads PDF pages without a text layer. Before parsing, a file named
    .pdf or .docx must look like one (a renamed file fails clearly instead of deep inside a
    library).
    """

    def __init__(
        self,
        *,
        tika: Tika | None = None,
        tika_for_all: bool = False,
        max_unzipped_bytes: int = DEFAULT_MAX_UNZIPPED_BYTES,
        ocr: PageOcr | None = None,
    ) -> None:
        self.tika = tika
        self.ocr = ocr
        self.tika_for_all = tika_for_all and tika is not None
        pdf = PdfiumParser(ocr=ocr)
        docx = DocxParser(max_unzipped_bytes=max_unzipped_bytes, attachments=tika)
        self.native: tuple[Parser, ...] = (
            FallbackParser(pdf, tika) if tika else pdf,
            FallbackParser(docx, tika) if tika else docx,
            PlainTextParser(),
            MarkdownParser(),
            HtmlParser(),
            EmailParser(self.parse),
        )

    @classmethod
    def from_settings(
        cls, settings: IngestSettings, *, client: httpx.AsyncClient | None = None
    ) -> ParserSet:
        """The set the settings describe; `client` is shared with a Tika server when given."""
        tika: Tika | None = None
        if settings.tika.url:
            tika = TikaParser(settings.tika.url, timeout_s=settings.tika.timeout_s, client=client)
        elif settings.native_tika.enabled:
            native = settings.native_tika
            tika = NativeTikaParser(timeout_s=native.timeout_s, workers=native.workers)
        ocr = None
        if settings.ocr.enabled:
            ocr = PageOcr(page_timeout_s=settings.ocr.page_timeout_s, scale=settings.ocr.scale)
        return cls(
            tika=tika,
            tika_for_all=settings.tika.for_all,
            max_unzipped_bytes=settings.max_unzipped_bytes,
            ocr=ocr,
        )

    def supported_suffixes(self) -> tuple[str, ...]:
        """Suffixes worth offering to this set (with Tika, `pick` accepts any suffix)."""
        return NATIVE_SUFFIXES + (TIKA_SUFFIXES if self.tika else ())

    def pick(self, filename: str) -> Parser:
        """The parser for this file name; raises UnsupportedFormat when there is none."""
        suffix = Path(filename).suffix.lower()
        if self.tika is not None and self.tika_for_all:
            return self.tika
        for parser in self.native:
            if parser.handles(suffix):
                return parser
        if self.tika is not None:
            return self.tika
        raise UnsupportedFormat(
            f"{filename}: no parser for {suffix or 'files without a suffix'}. Without Tika "
            f"these are supported: {' '.join(NATIVE_SUFFIXES)}; KB_NATIVE_TIKA__ENABLED=true "
            "(the default) or TIKA_URL (an Apache Tika server) reads the rest "
            "(.doc, .pptx, .xlsx, .rtf, .odt, .epub, .msg ...)"
        )

    async def parse(self, path: Path, filename: str) -> ParsedDocument:
        """Check the content matches the name, then parse with the picked parser."""
        parser = self.pick(filename)
        await asyncio.to_thread(check_content, path, filename, Path(filename).suffix.lower())
        return await parser.parse(path, filename)

    async def aclose(self) -> None:
        if self.tika is not None:
            await self.tika.aclose()
        if self.ocr is not None:
            self.ocr.close()

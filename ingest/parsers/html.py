"""HTML files read in-process: visible text, headings and tables, as one page."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from core.errors import DocumentError
from ingest.document import ParsedDocument
from ingest.parsers.sniff import read_head
from ingest.parsers.text import decode_text
from ingest.parsers.xhtml import HtmlContent, parse_xhtml

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


class HtmlParser:
    """Reads .html/.htm in-process: visible text only, headings and tables kept."""

    name = "html"

    def handles(self, suffix: str) -> bool:
        return suffix in (".html", ".htm")

    async def parse(self, path: Path, filename: str) -> ParsedDocument:
        content = await asyncio.to_thread(_parse_file, path, filename)
        headings = [heading for page in content.pages for heading in page.headings]
        first_h1 = next((heading.title for heading in headings if heading.level == 1), None)
        title = content.title or first_h1 or Path(filename).stem
        author = content.meta.get("author", "").strip()
        return ParsedDocument(
            title=title, pages=content.pages, metadata={"author": author} if author else {}
        )


def decode_html(data: bytes, filename: str) -> str:
    """Decode by the page's own <meta charset> when it names one, else like plain text."""
    declared = _META_CHARSET.search(data[:4096])
    if declared and not data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode(declared.group(1).decode("ascii"), errors="replace")
            return text.replace("\r\n", "\n")
        except LookupError:
            pass  # an unknown charset name: fall back to the plain-text rules
    return decode_text(data, filename)


def _parse_file(path: Path, filename: str) -> HtmlContent:
    read_head(path, filename)
    content = parse_xhtml(decode_html(path.read_bytes(), filename))
    if not any(page.text for page in content.pages):
        raise DocumentError(f"{filename}: the page contains no visible text")
    return content

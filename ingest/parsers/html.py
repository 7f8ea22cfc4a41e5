"""HTML files read in-process: visible text, headings and tables, as one page."""

from __future__ import annotations

import asyncio
from pathlib import Path

from core.errors import DocumentError
from core.markup.decode import decode_html
from core.markup.xhtml import HtmlContent, parse_xhtml
from ingest.document import ParsedDocument
from ingest.parsers.sniff import read_head


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


def _parse_file(path: Path, filename: str) -> HtmlContent:
    read_head(path, filename)
    content = parse_xhtml(decode_html(path.read_bytes(), filename))
    if not any(page.text for page in content.pages):
        raise DocumentError(f"{filename}: the page contains no visible text")
    return content

"""Plain text and Markdown: one page each, decoded with a stated fallback order."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from core.errors import DocumentError
from core.markup.decode import decode_text
from ingest.document import Heading, Page, ParsedDocument
from ingest.parsers.sniff import read_head

_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def _read(path: Path, filename: str) -> str:
    read_head(path, filename)
    text = decode_text(path.read_bytes(), filename)
    if not text.strip():
        raise DocumentError(f"{filename}: the document contains no text (only whitespace)")
    return text


class PlainTextParser:
    """Reads .txt files as a single page, text kept exactly (line ends made line feeds)."""

    name = "text"

    def handles(self, suffix: str) -> bool:
        return suffix == ".txt"

    async def parse(self, path: Path, filename: str) -> ParsedDocument:
        text = await asyncio.to_thread(_read, path, filename)
        return ParsedDocument(title=Path(filename).stem, pages=[Page(number=1, text=text)])


def markdown_headings(text: str) -> list[Heading]:
    """ATX headings (# .. ######) outside fenced code; offsets point at the heading's words."""
    headings: list[Heading] = []
    offset = 0
    fence: str | None = None
    for line in text.split("\n"):
        marker = _FENCE.match(line)
        if marker and fence is None:
            fence = marker.group(1)
        elif marker and fence == marker.group(1):
            fence = None
        elif fence is None and (match := _ATX_HEADING.match(line)) and match.group(2):
            level = len(match.group(1))
            headings.append(Heading(offset + match.start(2), level, match.group(2)))
        offset += len(line) + 1
    return headings


class MarkdownParser:
    """Reads Markdown as a single page of its source text, with its ATX headings."""

    name = "markdown"

    def handles(self, suffix: str) -> bool:
        return suffix in (".md", ".markdown")

    async def parse(self, path: Path, filename: str) -> ParsedDocument:
        text = await asyncio.to_thread(_read, path, filename)
        headings = markdown_headings(text)
        top = [heading.title for heading in headings if heading.level == 1]
        title = top[0] if top else Path(filename).stem
        page = Page(number=1, text=text, headings=headings)
        return ParsedDocument(title=title, pages=[page])

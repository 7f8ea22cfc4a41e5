"""Word .docx read in-process with python-docx, after a zip-bomb check of the package."""

from __future__ import annotations

import asyncio
import logging
import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docx
from docx.enum.style import WD_STYLE_TYPE

from core.errors import CorruptDocument, DocumentError, RagError
from ingest.document import ParsedDocument
from ingest.parsers.archive import check_zip
from ingest.parsers.attachments import AttachmentReader, append_attachments
from ingest.parsers.sniff import check_content
from ingest.parsers.wordml import W, body_pages, outline_level

logger = logging.getLogger(__name__)

DEFAULT_MAX_UNZIPPED_BYTES = 500 * 1024 * 1024
# Where Word keeps embedded files (OLE objects, workbooks, other documents).
EMBEDDINGS = "word/embeddings/"
_HEADING_NAME = re.compile(r"heading ([1-9])")


class DocxParser:
    """Reads .docx: body text in order, tables as ' | ' rows, headings, Word's page breaks.

    Pages split at explicit page breaks and at the breaks Word recorded when it last laid the
    document out; a document saved without either is one page. Files embedded in it are read
    by `attachments` (Tika unwraps OLE objects) and follow as pages of their own.
    """

    name = "docx"

    def __init__(
        self,
        *,
        max_unzipped_bytes: int = DEFAULT_MAX_UNZIPPED_BYTES,
        attachments: AttachmentReader | None = None,
    ) -> None:
        self.max_unzipped_bytes = max_unzipped_bytes
        self.attachments = attachments

    def handles(self, suffix: str) -> bool:
        return suffix == ".docx"

    async def parse(self, path: Path, filename: str) -> ParsedDocument:
        document = await asyncio.to_thread(self._parse, path, filename)
        if self.attachments is None or not await asyncio.to_thread(_has_embeddings, path):
            return document
        try:
            found = await self.attachments.attachments(path, filename)
        except RagError as exc:  # the body is read; lost attachments are worth a warning only
            logger.warning("%s: embedded files not read: %s", filename, exc)
            return document
        return append_attachments(document, found)

    def _parse(self, path: Path, filename: str) -> ParsedDocument:
        check_content(path, filename, ".docx")
        check_zip(
            path, filename, max_unzipped_bytes=self.max_unzipped_bytes, required="word/document.xml"
        )
        try:
            document = docx.Document(str(path))
            pages = body_pages(document.element.body, _heading_levels(document))
            metadata = _metadata(document.core_properties)
            core_title = (document.core_properties.title or "").strip()
        except Exception as exc:  # python-docx and lxml raise many types on malformed parts
            detail = f"{type(exc).__name__}: {exc}"
            raise CorruptDocument(f"{filename}: cannot read this DOCX ({detail})") from exc
        if not any(page.text for page in pages):
            raise DocumentError(f"{filename}: the document contains no text")
        level_one = (h.title for page in pages for h in page.headings if h.level == 1)
        title = core_title or next(level_one, None) or Path(filename).stem
        return ParsedDocument(title=title, pages=pages, metadata=metadata)


def _has_embeddings(path: Path) -> bool:
    with zipfile.ZipFile(path) as archive:
        return any(name.startswith(EMBEDDINGS) for name in archive.namelist())


def _heading_levels(document: Any) -> dict[str, int]:
    """Paragraph style id -> heading level, following each style's based-on chain."""
    levels: dict[str, int] = {}
    for style in document.styles:
        if style.type != WD_STYLE_TYPE.PARAGRAPH:
            continue
        current, hops = style, 0
        while current is not None and hops < 10:  # a based-on loop must not hang us
            level = _own_level(current)
            if level:
                levels[style.style_id] = level
                break
            current, hops = current.base_style, hops + 1
    return levels


def _own_level(style: Any) -> int | None:
    name = (style.name or "").strip().lower()
    if name == "title":
        return 1
    if match := _HEADING_NAME.fullmatch(name):
        return int(match.group(1))
    properties = style.element.pPr
    outline = properties.find(W + "outlineLvl") if properties is not None else None
    return outline_level(outline) if outline is not None else None


def _metadata(core: Any) -> dict[str, str]:
    metadata = {"author": (core.author or "").strip()}
    for key in ("created", "modified"):
        value = getattr(core, key)
        if isinstance(value, datetime):
            # python-docx drops the W3CDTF 'Z'; the stored times are UTC.
            aware = value if value.tzinfo else value.replace(tzinfo=UTC)
            metadata[key] = aware.isoformat()
    return {key: value for key, value in metadata.items() if value}

"""A parser with a second chance: PDFium or python-docx first, Tika when they cannot read it.

PDFium and python-docx read some files better than Tika (Chinese DOCX that Tika's OOXML
parser rejects, a Chinese PDF whose non-embedded font Tika garbles), so they go first; Tika
reads many files they refuse (a truncated DOCX, a PDF with filters PDFium lacks). A refusal
that another parser cannot change is final: encryption, an empty or missing file, a size
limit, a zip bomb.
"""

from __future__ import annotations

import logging
from pathlib import Path

from core.errors import (
    DocumentError,
    EmptyFile,
    EncryptedDocument,
    FileMissing,
    FileTooLarge,
    RagError,
    UnsafeArchive,
)
from ingest.document import ParsedDocument
from ingest.parsers.base import Parser

logger = logging.getLogger(__name__)

FINAL = (EncryptedDocument, EmptyFile, FileMissing, FileTooLarge, UnsafeArchive)


class FallbackParser:
    """Runs `primary`; when it refuses a file for a reason Tika could overcome, `fallback`.

    When the fallback fails too, the primary's reason stands: it names the real problem
    (the fallback read something else or nothing), and an encrypted verdict from either wins.
    """

    def __init__(self, primary: Parser, fallback: Parser) -> None:
        self.primary = primary
        self.fallback = fallback
        self.name = primary.name

    def handles(self, suffix: str) -> bool:
        return self.primary.handles(suffix)

    async def parse(self, path: Path, filename: str) -> ParsedDocument:
        try:
            return await self.primary.parse(path, filename)
        except FINAL:
            raise
        except DocumentError as first:
            try:
                document = await self.fallback.parse(path, filename)
            except EncryptedDocument:
                raise
            except RagError as second:  # refused, or an unreachable Tika server
                logger.info("%s: %s failed too (%s)", filename, self.fallback.name, second)
                raise first from None
            used = f"{self.fallback.name} ({first.reason} in {self.primary.name})"
            logger.info("%s: read by %s: %s", filename, used, first.message)
            document.metadata["parsed_by"] = used
            return document

"""The parser seam: every format, in-process or through Tika, answers the same way."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from ingest.document import ParsedDocument


class Parser(Protocol):
    """Turns one file into a ParsedDocument.

    Contract: `parse` returns pages numbered 1..n in order, each page's text exactly as the
    chunker should see it (heading offsets index into it), a non-empty title (the file name's
    stem when the file has none), and string metadata. It raises a `core.errors.DocumentError`
    subclass (EncryptedDocument, CorruptDocument, UnsafeArchive, NoTextLayer, ...) naming the
    reason, never a library's own exception. It must not block the event loop.
    """

    name: str

    def handles(self, suffix: str) -> bool:
        """True when this parser reads files with this lower-case suffix ('.pdf')."""
        ...

    async def parse(self, path: Path, filename: str) -> ParsedDocument:
        """Parse the file at `path`; `filename` is the user's name for it (for the title)."""
        ...

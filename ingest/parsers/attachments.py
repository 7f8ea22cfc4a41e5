"""Attachments and embedded files, ingested as extra pages of the document that holds them.

An e-mail's attachments and the files embedded in an Office document become pages after the
document's own pages, so the document's page numbers stay what its reader sees; each
attachment's first page opens with a level-1 heading `Attachment: <name>` (its own headings
move one level down), so every chunk of it carries the attachment's name in its heading path,
and the document's `attachments` metadata says which pages hold which attachment.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Protocol

from core.markup.pages import BLOCK_SEPARATOR, Heading, Page
from ingest.document import ParsedDocument

ATTACHMENT_PREFIX = "Attachment: "
# Office keeps a picture of every embedded object to show in its place; the picture's text
# repeats the object's own, which is ingested anyway.
PREVIEW_SUFFIXES = frozenset({".emf", ".wmf"})


@dataclass
class Attachment:
    """A file found inside another: its name and its pages (numbered from 1)."""

    name: str
    pages: list[Page]

    @property
    def has_text(self) -> bool:
        # Undecodable binaries come out as replacement characters: no word in them.
        return any(char.isalnum() for page in self.pages for char in page.text)


class AttachmentReader(Protocol):
    """Reads the files embedded in a document (a parser that knows how, e.g. Tika)."""

    async def attachments(self, path: Path, filename: str) -> list[Attachment]:
        """The embedded files that hold text, in document order; [] when there are none."""
        ...


def worth_keeping(attachment: Attachment) -> bool:
    """False for attachments without text and for Office's pictures of embedded objects."""
    suffix = PurePosixPath(attachment.name).suffix.lower()
    return attachment.has_text and suffix not in PREVIEW_SUFFIXES


def append_attachments(document: ParsedDocument, attachments: list[Attachment]) -> ParsedDocument:
    """The document with each attachment's pages after its own, headed by the name."""
    kept = [attachment for attachment in attachments if worth_keeping(attachment)]
    if not kept:
        return document
    pages = list(document.pages)
    where: list[str] = []
    for attachment in kept:
        first = len(pages) + 1
        for index, page in enumerate(attachment.pages):
            pages.append(_attachment_page(page, len(pages) + 1, attachment.name, index == 0))
        last = len(pages)
        span = f"page {first}" if first == last else f"pages {first}-{last}"
        where.append(f"{attachment.name} ({span})")
    metadata = dict(document.metadata)
    metadata["attachments"] = "; ".join(where)
    return ParsedDocument(title=document.title, pages=pages, metadata=metadata)


def _attachment_page(page: Page, number: int, name: str, first: bool) -> Page:
    headings = [Heading(h.offset, min(h.level + 1, 6), h.title) for h in page.headings]
    if not first:
        return replace(page, number=number, headings=headings)
    title = ATTACHMENT_PREFIX + name
    # An attachment without text on its first page still opens with its name.
    prefix = title + BLOCK_SEPARATOR if page.text else title
    shifted = [Heading(h.offset + len(prefix), h.level, h.title) for h in headings]
    return replace(
        page,
        number=number,
        text=prefix + page.text,
        headings=[Heading(0, 1, title), *shifted],
    )

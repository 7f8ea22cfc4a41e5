"""What a parser hands to the chunker: a document as pages of text with headings."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.markup.pages import Heading, Page

__all__ = ["Heading", "Page", "ParsedDocument"]


@dataclass
class ParsedDocument:
    """A parsed file: title, string metadata (author, created, modified ...) and pages."""

    title: str
    pages: list[Page]
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def page_count(self) -> int:
        return len(self.pages)

    @property
    def char_count(self) -> int:
        return sum(len(page.text.strip()) for page in self.pages)

"""What a parser hands to the chunker: a document as pages of text with headings."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Heading:
    """A heading that starts at `offset` in its page's text; level 1 is the outermost."""

    offset: int
    level: int
    title: str


@dataclass
class Page:
    """One page (1-based `number`); flow formats without pages have a single page."""

    number: int
    text: str
    headings: list[Heading] = field(default_factory=list)


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

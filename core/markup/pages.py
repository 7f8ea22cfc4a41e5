"""Pages of text with their headings, and the builder that assembles them block by block."""

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
    """One page (1-based `number`); flow formats without pages have a single page.

    `ocr` is True when the text was recognised from the page's image, not read from the file.
    """

    number: int
    text: str
    headings: list[Heading] = field(default_factory=list)
    ocr: bool = False


BLOCK_SEPARATOR = "\n\n"


class PageBuilder:
    """Collects paragraphs (blocks) page by page for the flow formats (DOCX, HTML, Tika XHTML).

    Blocks are joined by a blank line; a heading's offset is where its block starts in the
    final page text, so `page.text[offset:]` starts with the heading's title.
    """

    def __init__(self) -> None:
        self._pages: list[Page] = []
        self._blocks: list[str] = []
        self._headings: list[Heading] = []
        self._length = 0

    def add_block(self, text: str, heading_level: int | None = None) -> None:
        """Append one paragraph to the current page; blank blocks are dropped."""
        text = text.strip()
        if not text:
            return
        offset = self._length + (len(BLOCK_SEPARATOR) if self._blocks else 0)
        if heading_level is not None:
            self._headings.append(Heading(offset=offset, level=heading_level, title=text))
        self._blocks.append(text)
        self._length = offset + len(text)

    def break_page(self, *, keep_empty: bool = True) -> None:
        """Close the current page; with keep_empty=False a page without text is not closed."""
        if not keep_empty and not self._blocks:
            return
        number = len(self._pages) + 1
        text = BLOCK_SEPARATOR.join(self._blocks)
        self._pages.append(Page(number=number, text=text, headings=self._headings))
        self._blocks, self._headings, self._length = [], [], 0

    def build(self) -> list[Page]:
        """All pages, the open one included even when blank (a break always opens a page)."""
        text = BLOCK_SEPARATOR.join(self._blocks)
        last = Page(number=len(self._pages) + 1, text=text, headings=list(self._headings))
        return [*self._pages, last]

"""(X)HTML to pages with the standard library's parser: shared by HtmlParser and TikaParser."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from html.parser import HTMLParser as _StdlibHTMLParser

from core.markup.pages import Page, PageBuilder

_SKIPPED = frozenset({"script", "style", "template", "noscript"})
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "caption", "center", "dd",
        "details", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form",
        "header", "hr", "html", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "ul",
    }
)  # fmt: skip
# Tika's XHTML marks one page of a paged format with a div of one of these classes: a PDF
# page or an .xls sheet ("page"), an .xlsx sheet ("sheet"), a .ppt slide ("slide", holding a
# "slide-content" div) and a .pptx slide ("slide-content").
TIKA_PAGE_CLASSES = frozenset({"page", "sheet", "slide", "slide-content"})
_SPACES = re.compile(r"[ \t\n\r\f]+")
_INLINE_SPACES = re.compile(r"[ \t\r\f]+")


@dataclass
class HtmlContent:
    """What an (X)HTML document holds: its <title>, its pages and its <meta name> values."""

    title: str | None
    pages: list[Page]
    meta: dict[str, str] = field(default_factory=dict)


@dataclass
class _Table:
    rows: list[list[str]] = field(default_factory=list)
    cell: list[str] | None = None

    def close_cell(self) -> None:
        if self.cell is not None and self.rows:
            self.rows[-1].append(_SPACES.sub(" ", "".join(self.cell)).strip())
        self.cell = None

    def render(self) -> str:
        lines = (" | ".join(row) for row in self.rows if any(row))
        return "\n".join(lines)


class _PageCollector(_StdlibHTMLParser):
    def __init__(self, *, keep_newlines: bool, page_classes: Collection[str]) -> None:
        super().__init__(convert_charrefs=True)
        self.builder = PageBuilder()
        self.meta: dict[str, str] = {}
        self.title: str | None = None
        self._keep_newlines = keep_newlines
        self._page_classes = frozenset(page_classes)
        self._pages_seen = 0
        # One entry per open div: True for a page div. A page div inside another one (a .ppt
        # slide's slide-content) belongs to the outer page.
        self._divs: list[bool] = []
        self._skipping: list[str] = []
        self._in_head = False
        self._title: list[str] | None = None
        self._text: list[str] = []
        self._pre = 0
        self._heading: int | None = None
        self._tables: list[_Table] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skipping.append(tag)
        elif self._skipping:
            return
        elif tag in ("head", "title", "meta", "body"):
            self._head_tag(tag, dict(attrs))
        elif tag in ("table", "tr", "td", "th"):
            self._table_tag(tag)
        elif tag == "br":
            self._sink().append("\n")
        elif tag in _HEADINGS or tag in _BLOCKS:
            self._block_start(tag, dict(attrs))

    def handle_endtag(self, tag: str) -> None:
        if self._skipping:
            if tag == self._skipping[-1]:
                self._skipping.pop()
        elif tag == "title" and self._title is not None:
            self.title = _SPACES.sub(" ", "".join(self._title)).strip() or None
            self._title = None
        elif tag == "head":
            self._in_head = False
        elif tag in ("table", "tr", "td", "th"):
            self._table_end(tag)
        elif tag in _HEADINGS or tag in _BLOCKS:
            self._end_block()
            if tag == "pre" and self._pre:
                self._pre -= 1
            if tag == "div" and self._divs:
                self._divs.pop()

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        if self._title is not None:
            self._title.append(data)
        elif not self._in_head:
            if not self._pre:
                data = (_INLINE_SPACES if self._keep_newlines else _SPACES).sub(" ", data)
            self._sink().append(data)

    def close(self) -> None:
        super().close()
        while self._tables:
            self._table_end("table")
        self._end_block()

    def _head_tag(self, tag: str, attrs: dict[str, str | None]) -> None:
        if tag == "head":
            self._in_head = True
        elif tag == "body":
            self._in_head = False
        elif tag == "title":
            self._title = []
        elif attrs.get("name") and attrs.get("content"):
            self.meta.setdefault(str(attrs["name"]), str(attrs["content"]))

    def _block_start(self, tag: str, attrs: dict[str, str | None]) -> None:
        self._end_block()
        if tag == "pre":
            self._pre += 1
        if tag in _HEADINGS and not self._tables:
            self._heading = _HEADINGS[tag]
        if tag != "div":
            return
        classes = set((attrs.get("class") or "").split())
        page = bool(classes & self._page_classes) and not any(self._divs)
        self._divs.append(page)
        if page:
            # Tika opens one page div per PDF page; blank pages still count for numbering.
            if self._pages_seen:
                self.builder.break_page(keep_empty=True)
            self._pages_seen += 1

    def _end_block(self) -> None:
        if self._tables:
            self._sink().append(" ")
            return
        text, self._text = "".join(self._text), []
        if not self._pre:
            lines = (" ".join(line.split()) for line in text.split("\n"))
            text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
        self.builder.add_block(text, self._heading)
        self._heading = None

    def _table_tag(self, tag: str) -> None:
        if tag == "table":
            self._end_block()
            self._tables.append(_Table())
        elif self._tables and tag == "tr":
            self._tables[-1].close_cell()
            self._tables[-1].rows.append([])
        elif self._tables:
            table = self._tables[-1]
            table.close_cell()
            if not table.rows:
                table.rows.append([])
            table.cell = []

    def _table_end(self, tag: str) -> None:
        if not self._tables:
            return
        table = self._tables[-1]
        table.close_cell()
        if tag != "table":
            return
        self._tables.pop()
        if self._tables:
            self._sink().append(" " + table.render().replace("\n", " ") + " ")
        else:
            self.builder.add_block(table.render())

    def _sink(self) -> list[str]:
        if not self._tables:
            return self._text
        cell = self._tables[-1].cell
        # Text between cells (indentation whitespace) has no cell to land in.
        return cell if cell is not None else []


def parse_xhtml(
    markup: str, *, keep_newlines: bool = False, page_classes: Collection[str] = ()
) -> HtmlContent:
    """Turn (X)HTML into pages: blocks split by blank lines, h1-h6 as headings, tables as rows.

    Args:
        markup: the document.
        keep_newlines: keep line breaks inside text (Tika's XHTML of a PDF has one per line)
            instead of collapsing them as a browser would.
        page_classes: start a new page at each div with one of these classes
            (`TIKA_PAGE_CLASSES` for Tika's XHTML); none for web pages.
    """
    collector = _PageCollector(keep_newlines=keep_newlines, page_classes=page_classes)
    collector.feed(markup)
    collector.close()
    return HtmlContent(title=collector.title, pages=collector.builder.build(), meta=collector.meta)

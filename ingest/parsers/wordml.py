"""WordprocessingML body to pages: paragraphs, tables and page breaks in document order."""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from typing import Any

from core.markup.pages import PageBuilder
from ingest.document import Page

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
# Elements whose children are more runs: links, tracked insertions, content controls, fields.
_CONTAINERS = frozenset(
    W + name
    for name in (
        "r", "hyperlink", "ins", "moveTo", "smartTag", "sdt", "sdtContent", "fldSimple", "customXml"
    )
)  # fmt: skip
_BODY_CONTAINERS = frozenset({W + "sdt", W + "sdtContent", W + "customXml"})
_CHARACTERS = {W + "tab": "\t", W + "cr": "\n", W + "noBreakHyphen": "-"}


class _Break(enum.Enum):
    EXPLICIT = "explicit"  # <w:br w:type="page"/>: the author's page break
    RENDERED = "rendered"  # <w:lastRenderedPageBreak/>: where Word last laid out a new page


Element = Any  # lxml elements: python-docx ships no types for them


def body_pages(body: Element, heading_levels: Mapping[str, int]) -> list[Page]:
    """Pages of a document body; `heading_levels` maps paragraph style ids to levels."""
    builder = PageBuilder()
    _add_children(body, builder, heading_levels)
    return builder.build()


def _add_children(parent: Element, builder: PageBuilder, levels: Mapping[str, int]) -> None:
    for child in parent:
        if child.tag == W + "p":
            _add_paragraph(child, builder, levels)
        elif child.tag == W + "tbl":
            _add_table(child, builder)
        elif child.tag in _BODY_CONTAINERS:
            _add_children(child, builder, levels)


def _add_paragraph(paragraph: Element, builder: PageBuilder, levels: Mapping[str, int]) -> None:
    level = _heading_level(paragraph, levels)
    properties = paragraph.find(W + "pPr")
    if properties is not None and _is_on(properties.find(W + "pageBreakBefore")):
        # "Start on a new page" adds no blank page when the current one is still empty.
        builder.break_page(keep_empty=False)
    parts: list[str] = []
    for piece in _inline(paragraph):
        if isinstance(piece, str):
            parts.append(piece)
            continue
        text, parts = "".join(parts), []
        builder.add_block(text, level)
        level = None if text.strip() else level
        _break(builder, piece)
    builder.add_block("".join(parts), level)


def _break(builder: PageBuilder, kind: _Break) -> None:
    # Word writes a rendered break right after an explicit one (same boundary), so a
    # rendered break on a page without text yet is skipped; explicit ones always count.
    builder.break_page(keep_empty=kind is _Break.EXPLICIT)


def _is_on(flag: Element | None) -> bool:
    return flag is not None and flag.get(W + "val") not in ("0", "false", "off")


def _heading_level(paragraph: Element, levels: Mapping[str, int]) -> int | None:
    properties = paragraph.find(W + "pPr")
    if properties is None:
        return None
    outline = properties.find(W + "outlineLvl")
    if outline is not None:
        return outline_level(outline)
    style = properties.find(W + "pStyle")
    return levels.get(style.get(W + "val", "")) if style is not None else None


def outline_level(outline: Element) -> int | None:
    """A w:outlineLvl as a heading level: 0-8 are levels 1-9, 9 is body text."""
    value = outline.get(W + "val") or "9"
    return int(value) + 1 if value.isdigit() and int(value) < 9 else None


def _inline(element: Element) -> Iterator[str | _Break]:
    """Text and page breaks inside a paragraph; deleted text and field codes are skipped."""
    for child in element:
        tag = child.tag
        if tag == W + "t":
            yield child.text or ""
        elif tag in _CHARACTERS:
            yield _CHARACTERS[tag]
        elif tag == W + "br":
            yield _Break.EXPLICIT if child.get(W + "type") == "page" else "\n"
        elif tag == W + "lastRenderedPageBreak":
            yield _Break.RENDERED
        elif tag in (W + "drawing", W + "pict"):
            yield from _text_boxes(child)
        elif tag == MC + "AlternateContent":
            # The Choice and the Fallback hold the same content; reading both doubles it.
            choice = child.find(MC + "Choice")
            if choice is not None:
                yield from _inline(choice)
        elif tag in _CONTAINERS:
            yield from _inline(child)


def _text_boxes(drawing: Element) -> Iterator[str]:
    for box in drawing.iter(W + "txbxContent"):
        for paragraph in box:
            if paragraph.tag == W + "p":
                yield "\n" + paragraph_text(paragraph)


def paragraph_text(paragraph: Element) -> str:
    """A paragraph's text with its page breaks dropped."""
    return "".join(piece for piece in _inline(paragraph) if isinstance(piece, str))


def _cell_text(cell: Element) -> str:
    parts: list[str] = []
    for child in cell:
        if child.tag == W + "p":
            parts.append(paragraph_text(child))
        elif child.tag == W + "tbl":
            parts.append(table_text(child).replace("\n", " "))
        elif child.tag in _BODY_CONTAINERS:
            parts.append(_cell_text(child))
    return " ".join(" ".join(parts).split())


def table_text(table: Element) -> str:
    """Rows on lines, cells joined by ' | '; empty rows dropped."""
    # Direct children only: a nested table's rows belong to its cell, not to this table.
    rows = ([_cell_text(cell) for cell in row.findall(W + "tc")] for row in table.findall(W + "tr"))
    return "\n".join(" | ".join(cells) for cells in rows if any(cells))


def _add_table(table: Element, builder: PageBuilder) -> None:
    builder.add_block(table_text(table))
    # The table stays on the page it starts on; rows Word laid out on later pages still
    # move the pages on, so what follows the table keeps its real page number.
    rows = table.findall(W + "tr")
    straddling = sum(row.find(f".//{W}lastRenderedPageBreak") is not None for row in rows)
    for index in range(straddling):
        builder.break_page(keep_empty=index > 0)

"""A PDF page as a PNG, and the boxes of a character span of its text, read with PDFium.

Citations give a span of the page's text as the PDF parser read it: PDFium's bounded text,
cleaned by `ingest.parsers.pdf.clean_text`. The same cleaning is replayed here character by
character, remembering which PDFium character each kept one came from, so a span maps back to
PDFium's characters and their boxes. Where PDFium's bounded text and its character stream
differ (line breaks, characters outside the page's box) they are matched without white space;
when the page was read another way (Tika, OCR), the passage's own text is looked for.
Boxes are in PDF points from the page's top-left corner; one rectangle per line of the span.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pypdfium2.raw as pdfium_c  # type: ignore[import-untyped]

from core.errors import CorruptDocument, InvalidRequest
from ingest.parsers.pdf import PDFIUM_LOCK, clean_text

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufffe]")


@dataclass(frozen=True)
class Rect:
    """A rectangle in PDF points, from the page's top-left corner."""

    left: float
    top: float
    right: float
    bottom: float


@dataclass(frozen=True)
class SpanBoxes:
    """Where a span of a page's text is drawn: one rectangle per line (none when not found)."""

    pages: int
    width: float
    height: float
    boxes: list[Rect]


def render_png(path: Path, page: int, scale: float) -> tuple[bytes, int]:
    """Page `page` (from 1) rendered at `scale` x 72 dpi as PNG bytes, and the page count."""
    with PDFIUM_LOCK, _opened(path) as pdf:
        count = len(pdf)
        pdf_page = pdf[_index(page, count)]
        try:
            image = pdf_page.render(scale=scale, may_draw_forms=False).to_pil()
        finally:
            pdf_page.close()
    out = io.BytesIO()
    # Speed over size: the image goes to a browser on the same network, once.
    image.save(out, format="PNG", compress_level=1)
    return out.getvalue(), count


def span_boxes(path: Path, page: int, start: int, end: int, passage: str | None) -> SpanBoxes:
    """The rectangles covering characters [start, end) of page `page`'s text.

    Without `passage` the span is one of the text PDFium reads (the PDF parser's); with it,
    the page was read another way and the passage's text is looked for.
    """
    if end <= start:
        raise InvalidRequest("char_end must be above char_start", param="char_end")
    with PDFIUM_LOCK, _opened(path) as pdf:
        count = len(pdf)
        pdf_page = pdf[_index(page, count)]
        try:
            width, height = pdf_page.get_size()
            textpage = pdf_page.get_textpage()
            try:
                # Loose boxes span the font's height: glyph boxes of fonts PDFium has no
                # metrics for (non-embedded CJK fonts) are flat.
                boxes = [
                    textpage.get_charbox(i, loose=True)
                    for i in _find(textpage, start, end, passage)
                    if not chr(pdfium_c.FPDFText_GetUnicode(textpage.raw, i)).isspace()
                ]
            finally:
                textpage.close()
        finally:
            pdf_page.close()
    return SpanBoxes(pages=count, width=width, height=height, boxes=_lines(boxes, height))


@contextmanager
def _opened(path: Path) -> Iterator[pdfium.PdfDocument]:
    try:
        pdf = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        raise CorruptDocument(f"PDFium cannot open the original: {exc}") from exc
    try:
        yield pdf
    finally:
        pdf.close()


def _index(page: int, count: int) -> int:
    if not 1 <= page <= count:
        raise InvalidRequest(f"page {page} is not between 1 and {count}", param="page")
    return page - 1


def _find(textpage: pdfium.PdfTextPage, start: int, end: int, passage: str | None) -> list[int]:
    """PDFium character indices of the span, or of the passage found in the page's text."""
    cleaned, origin = _cleaned(textpage)
    read = clean_text(textpage.get_text_bounded())
    if cleaned == read and end <= len(cleaned):
        return [origin[i] for i in range(start, end)]
    if passage is None and end > len(read):  # the span is not in PDFium's text (OCR)
        return []
    # PDFium's bounded text can break lines elsewhere than its character stream, or leave
    # out characters outside the page's box: compare them without white space.
    dense = [(c, origin[i]) for i, c in enumerate(cleaned) if not c.isspace()]
    text = "".join(c for c, _ in dense)
    at = _dense_length(read[:start])
    if text == "".join(read.split()):
        return [i for _, i in dense[at : at + _dense_length(read[start:end])]]
    needle = "".join((read[start:end] if passage is None else passage).split())
    found = [m.start() for m in re.finditer(re.escape(needle), text)] if needle else []
    if not found:
        return []
    nearest = min(found, key=lambda f: abs(f - at))  # the same words may occur twice
    return [i for _, i in dense[nearest : nearest + len(needle)]]


def _dense_length(text: str) -> int:
    return sum(not c.isspace() for c in text)


def _cleaned(textpage: pdfium.PdfTextPage) -> tuple[str, list[int]]:
    """`clean_text` of the page's characters, with the PDFium index each kept one came from."""
    out: list[str] = []
    origin: list[int] = []
    count = textpage.count_chars()
    raw = [chr(pdfium_c.FPDFText_GetUnicode(textpage.raw, i)) for i in range(count)]
    for i, char in enumerate(raw):
        if "\udc00" <= char <= "\udfff":  # the second half of a pair, joined below
            continue
        if "\ud800" <= char <= "\udbff" and i + 1 < count:
            # PDFium counts UTF-16 code units: a character beyond the BMP (math letters,
            # rare CJK) is two of them, one character in the text the parser read.
            char = (char + raw[i + 1]).encode("utf-16", "surrogatepass").decode("utf-16")
        if char == "\r":
            if i + 1 < count and raw[i + 1] == "\n":
                continue
            char = "\n"
        if _CONTROL.match(char):
            continue
        out.append(char)
        origin.append(i)
    return "".join(out), origin


def _lines(boxes: list[tuple[float, float, float, float]], height: float) -> list[Rect]:
    """Character boxes (left, bottom, right, top) merged into one rectangle per line."""
    rects: list[Rect] = []
    for left, bottom, right, top in boxes:
        if right <= left or top <= bottom:
            continue
        rect = Rect(left, height - top, right, height - bottom)
        last = rects[-1] if rects else None
        middle = (rect.top + rect.bottom) / 2
        if last and last.top <= middle <= last.bottom and rect.left >= last.left:
            rects[-1] = Rect(
                last.left, min(last.top, rect.top), max(last.right, rect.right),
                max(last.bottom, rect.bottom),
            )  # fmt: skip
        else:
            rects.append(rect)
    return rects

"""OCR text boxes to text in reading order: columns, then lines top to bottom, left to right.

The OCR engine finds text lines as boxes. One page may hold two columns, and titles or
figures that span both; reading it row by row would interleave the columns. So boxes are cut
into bands at the boxes that cross the gutter between columns; within a band the left column
is read before the right. Pieces on one line are joined by a space, except between two CJK
characters, which Chinese and Japanese write without one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CJK = (
    "\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u312f\u3190-\u31ff\u3400-\u4dbf"
    "\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
)
_CJK_CHAR = re.compile(f"[{_CJK}]")
_SPACE_IN_CJK = re.compile(f"(?<=[{_CJK}])[ \t]+(?=[{_CJK}])")
# A gutter narrower than this share of the page is a word gap, not a column break.
_MIN_GUTTER = 0.015
_MIN_COLUMN_BOXES = 3


@dataclass(frozen=True)
class Box:
    """A recognised text line and its bounding rectangle in page pixels."""

    left: float
    top: float
    right: float
    bottom: float
    text: str

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2


def page_text(boxes: list[Box], page_width: float) -> str:
    """The page's text in reading order: lines joined by newlines, CJK without spaces."""
    boxes = [box for box in boxes if box.text.strip()]
    gutter = _gutter(boxes, page_width)
    if gutter is None:
        return "\n".join(_lines(boxes))
    out: list[str] = []
    band: list[Box] = []
    for box in sorted(boxes, key=lambda b: b.top):
        if box.left < gutter < box.right:  # spans both columns: ends the band
            out += _columns(band, gutter)
            out += _lines([box])
            band = []
        else:
            band.append(box)
    out += _columns(band, gutter)
    return "\n".join(out)


def join_pieces(left: str, right: str) -> str:
    """Two pieces of one line: a space between them unless both sides are CJK."""
    if left and right and _CJK_CHAR.match(left[-1]) and _CJK_CHAR.match(right[0]):
        return left + right
    return f"{left} {right}" if left and right else left + right


def tidy(text: str) -> str:
    """The engine sometimes puts spaces between CJK characters set wide apart."""
    return _SPACE_IN_CJK.sub("", text.strip())


def _columns(band: list[Box], gutter: float) -> list[str]:
    left = [box for box in band if box.right <= gutter]
    right = [box for box in band if box.left >= gutter]
    return _lines(left) + _lines(right)


def _lines(boxes: list[Box]) -> list[str]:
    """Boxes grouped into lines (a box whose middle lies within a line joins it)."""
    lines: list[list[Box]] = []
    for box in sorted(boxes, key=lambda b: (b.middle, b.left)):
        current = lines[-1] if lines else None
        if current is not None and current[0].top <= box.middle <= current[0].bottom:
            current.append(box)
        else:
            lines.append([box])
    texts: list[str] = []
    for line in lines:
        text = ""
        for box in sorted(line, key=lambda b: b.left):
            text = join_pieces(text, tidy(box.text))
        texts.append(text)
    return texts


def _gutter(boxes: list[Box], page_width: float) -> float | None:
    """The x between two columns of text lines, or None for a page read row by row.

    The candidate is the x in the middle half of the page that the fewest lines cross (a
    centred title or author block may); it counts when both sides hold lines of running
    text (at least a quarter of the page wide: table cells are shorter and read by row) and
    the strip between the two sides is wider than a word gap.
    """
    low, high = 0.25 * page_width, 0.75 * page_width
    edges = {box.right + 1 for box in boxes} | {box.left - 1 for box in boxes}
    best: tuple[int, float] | None = None
    for x in sorted(edge for edge in edges if low < edge < high):
        crossing = sum(box.left < x < box.right for box in boxes)
        if best is None or crossing < best[0]:
            best = (crossing, x)
    if best is None or best[0] > max(2, len(boxes) // 6):
        return None
    x = best[1]
    left = [box for box in boxes if box.right <= x]
    right = [box for box in boxes if box.left >= x]
    if min(len(left), len(right)) < _MIN_COLUMN_BOXES:
        return None
    if min(_median_width(left), _median_width(right)) < 0.25 * page_width:
        return None
    # Most lines of each side stop short of the strip (a few run into it: hyphens, OCR slop).
    gap = _quantile([box.left for box in right], 0.1) - _quantile([b.right for b in left], 0.9)
    return x if gap > page_width * _MIN_GUTTER else None


def _median_width(boxes: list[Box]) -> float:
    return _quantile([box.right - box.left for box in boxes], 0.5)


def _quantile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(share * len(ordered)), len(ordered) - 1)]

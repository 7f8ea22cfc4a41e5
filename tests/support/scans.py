"""Scans made at test time: text PDF pages rendered to pictures, in image-only PDFs."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium  # type: ignore[import-untyped]
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from tests.support import documents

# What `english_scan` shows, one line per drawn line, at 14 pt.
ENGLISH_LINES = [
    "Quarterly maintenance report",
    "The cooling pump was replaced on 12 March.",
    "Pressure stayed below 4 bar during the test.",
]


def scan_of(
    source: Path, path: Path, *, pages: list[int] | None = None, scale: float = 2.0
) -> Path:
    """An image-only PDF of `source`'s pages (0-based; all by default) rendered at `scale`."""
    pdf = pdfium.PdfDocument(source)
    out = canvas.Canvas(str(path))
    try:
        for index in pages if pages is not None else range(len(pdf)):
            page = pdf[index]
            width, height = page.get_size()
            picture = page.render(scale=scale).to_pil()
            out.setPageSize((width, height))
            out.drawImage(ImageReader(picture), 0, 0, width, height)
            out.showPage()
            page.close()
    finally:
        pdf.close()
    out.save()
    return path


def english_scan(path: Path) -> Path:
    """One scanned page showing ENGLISH_LINES."""
    source = path.with_name("source-" + path.name)
    pdf = canvas.Canvas(str(source))
    pdf.setFont("Helvetica", 14)
    for row, line in enumerate(ENGLISH_LINES):
        pdf.drawString(72, 740 - 28 * row, line)
    pdf.showPage()
    pdf.save()
    return scan_of(source, path)


def text_then_scan(path: Path) -> Path:
    """Page 1 with a text layer (documents.PDF_PAGES[0]), page 2 a scan of ENGLISH_LINES."""
    first = documents.text_pdf(path.with_name("text-" + path.name), [documents.PDF_PAGES[0]])
    scan = english_scan(path.with_name("scan-" + path.name))
    merged = pdfium.PdfDocument(first)
    merged.import_pages(pdfium.PdfDocument(scan))
    merged.save(path)
    return path

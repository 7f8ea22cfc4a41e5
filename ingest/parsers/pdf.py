"""PDF text layers read in-process with PDFium (pypdfium2), one Page per PDF page."""

from __future__ import annotations

import asyncio
import logging
import mmap
import re
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

# pypdfium2 ships no py.typed; pyproject's ignore_missing_imports list does not name it yet.
import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pypdfium2.raw as pdfium_c  # type: ignore[import-untyped]

from core.errors import (
    CorruptDocument,
    DocumentError,
    EncryptedDocument,
    NoTextLayer,
    ParserTimeout,
)
from ingest.document import Page, ParsedDocument
from ingest.parsers.ocr import OcrResult, PageOcr
from ingest.parsers.sniff import check_content

logger = logging.getLogger(__name__)
# PDFium is not thread-safe, not even across documents: one PDF at a time per process
# (the page viewer in serving.web takes the same lock).
PDFIUM_LOCK = threading.Lock()

# PDFium marks a hyphen it removed at a line end with U+FFFE; the word is already joined.
_SOFT_HYPHEN = "\ufffe"
# Fonts without a Unicode map come out as C0 control codes: noise for chunking and search.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_PDF_DATE = re.compile(
    r"(?:D:)?(\d{4})(\d\d)?(\d\d)?(\d\d)?(\d\d)?(\d\d)?\s*(?:([Zz+-])(\d\d)?'?(\d\d)?'?)?"
)
# What PDF writers put in Title when the author gave none (ReportLab, old Acrobat).
PLACEHOLDER_TITLES = frozenset({"untitled", "untitled document"})
_METADATA = {"Author": "author", "Producer": "producer"}
# A page with fewer characters than this in its text layer is read by OCR instead (a scan
# often carries a page number or a stamp as text); OCR's text replaces it only when longer.
OCR_BELOW_CHARS = 8
_DATES = {"CreationDate": "created", "ModDate": "modified"}


def pdf_date(value: str) -> str | None:
    """A PDF date (D:YYYYMMDDHHmmSSOHH'mm') as ISO 8601, or None when it is not one."""
    match = _PDF_DATE.match(value.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, sign, tz_hour, tz_minute = match.groups()
    tz: timezone | None = None
    if sign in ("Z", "z"):
        tz = UTC
    elif sign:
        delta = timedelta(hours=int(tz_hour or 0), minutes=int(tz_minute or 0))
        tz = timezone(-delta if sign == "-" else delta)
    month_, day_ = int(month or 1), int(day or 1)
    clock = int(hour or 0), int(minute or 0), int(second or 0)
    try:
        return datetime(int(year), month_, day_, *clock, tzinfo=tz).isoformat()
    except ValueError:
        return None


def clean_text(text: str) -> str:
    """PDFium's text with plain line feeds, its soft-hyphen marks and control codes gone."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace(_SOFT_HYPHEN, "")
    return _CONTROL.sub("", text)


def _has_encrypt_dictionary(path: Path) -> bool:
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return data.find(b"/Encrypt") >= 0


def _open_error(exc: pdfium.PdfiumError, path: Path, filename: str) -> DocumentError:
    # PDFium's error code is process-global and left stale by some failures (a Brotli-
    # compressed PDF reports the previous file's "password" code), so confirm encryption
    # with the file's own /Encrypt entry before calling it encrypted.
    password = exc.err_code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY)
    if password and _has_encrypt_dictionary(path):
        return EncryptedDocument(
            f"{filename}: password protected; remove the password and upload it again"
        )
    return CorruptDocument(f"{filename}: PDFium cannot read this PDF ({exc})")


class PdfiumParser:
    """Reads the text layer of PDFs page by page, and OCRs the pages that have none.

    Without `ocr`, or when OCR finds nothing, a PDF without any text raises NoTextLayer.
    """

    name = "pdfium"

    def __init__(self, *, ocr: PageOcr | None = None) -> None:
        self.ocr = ocr

    def handles(self, suffix: str) -> bool:
        return suffix == ".pdf"

    async def parse(self, path: Path, filename: str) -> ParsedDocument:
        texts, info = await asyncio.to_thread(self._read, path, filename)
        pages = [Page(number=i + 1, text=text or "") for i, text in enumerate(texts)]
        scanned = [i for i, page in enumerate(pages) if len(page.text.strip()) < OCR_BELOW_CHARS]
        metadata = _metadata(info)
        ocr = OcrResult()
        if scanned and self.ocr is not None:
            ocr = await self.ocr.read(path, filename, scanned)
            for index, text in ocr.texts.items():
                if len(text.strip()) > len(pages[index].text.strip()):
                    pages[index] = Page(number=index + 1, text=text, ocr=True)
            metadata.update(_ocr_metadata(ocr))
        if not any(page.text.strip() for page in pages):
            raise self._no_text(filename, len(pages), ocr)
        title = info.get("Title", "").strip()
        if not title or title.lower() in PLACEHOLDER_TITLES:
            title = Path(filename).stem
        return ParsedDocument(title=title, pages=pages, metadata=metadata)

    def _read(self, path: Path, filename: str) -> tuple[list[str | None], dict[str, str]]:
        check_content(path, filename, ".pdf")
        with PDFIUM_LOCK:
            texts, info = _read_pdf(path, filename)
        if not texts or all(text is None for text in texts):
            raise CorruptDocument(f"{filename}: PDFium found no readable pages")
        return texts, info

    def _no_text(self, filename: str, pages: int, ocr: OcrResult) -> DocumentError:
        if self.ocr is None:
            return NoTextLayer(f"{filename}: no text layer: needs OCR (KB_OCR__ENABLED is off)")
        if ocr.failed and len(ocr.failed) == pages:
            reasons = "; ".join(sorted(set(ocr.failed.values())))
            return ParserTimeout(f"{filename}: OCR failed on every page ({reasons})")
        return NoTextLayer(f"{filename}: no text layer, and OCR found no text on its {pages} pages")


def _ocr_metadata(ocr: OcrResult) -> dict[str, str]:
    metadata = {}
    read = sorted(index + 1 for index, text in ocr.texts.items() if text.strip())
    if read:
        metadata["ocr_pages"] = ", ".join(map(str, read))
    if ocr.failed:
        failed = (f"{index + 1} ({why})" for index, why in sorted(ocr.failed.items()))
        metadata["ocr_failed_pages"] = "; ".join(failed)
    return metadata


def _read_pdf(path: Path, filename: str) -> tuple[list[str | None], dict[str, str]]:
    """Each page's text (None where PDFium failed on it) and the document information."""
    try:
        # PDFs encrypted with an empty user password open here like any other.
        pdf = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        raise _open_error(exc, path, filename) from exc
    try:
        texts = [_page_text(pdf, index, filename) for index in range(len(pdf))]
        info: dict[str, str] = pdf.get_metadata_dict(skip_empty=True)
    finally:
        pdf.close()
    return texts, info


def _page_text(pdf: pdfium.PdfDocument, index: int, filename: str) -> str | None:
    """One page's text, or None when PDFium fails on it: the other pages still count."""
    try:
        page = pdf[index]
    except pdfium.PdfiumError as exc:
        logger.warning("%s: page %d unreadable: %s", filename, index + 1, exc)
        return None
    try:
        textpage = page.get_textpage()
        try:
            return clean_text(textpage.get_text_bounded())
        finally:
            textpage.close()
    except pdfium.PdfiumError as exc:
        logger.warning("%s: no text from page %d: %s", filename, index + 1, exc)
        return None
    finally:
        page.close()


def _metadata(info: dict[str, str]) -> dict[str, str]:
    metadata = {key: info[name].strip() for name, key in _METADATA.items() if name in info}
    for name, key in _DATES.items():
        date = pdf_date(info.get(name, ""))
        if date:
            metadata[key] = date
    return {key: value for key, value in metadata.items() if value}

"""What Apache Tika says about a file (XHTML and metadata), as a ParsedDocument or a refusal.

Shared by the Tika server client and the in-process native Tika: both get the same XHTML
(one div per page, slide or sheet) and the same metadata keys, and both need the same care
where Tika says nothing went wrong but read nothing (encrypted PDFs and Word files).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import (
    CorruptDocument,
    DocumentError,
    EmptyFile,
    EncryptedDocument,
    NoTextLayer,
    UnsupportedFormat,
)
from core.markup.pages import Page
from core.markup.xhtml import TIKA_PAGE_CLASSES, parse_xhtml
from ingest.document import ParsedDocument
from ingest.parsers.attachments import Attachment, append_attachments, worth_keeping
from ingest.parsers.pdf import PLACEHOLDER_TITLES

logger = logging.getLogger(__name__)

_EXCEPTION_KEY = "X-TIKA:EXCEPTION:container_exception"
_ENCRYPTED = "EncryptedDocumentException"
# What Tika calls an OOXML file (.docx, .xlsx, .pptx) wrapped in password encryption.
_PROTECTED_OOXML = "application/x-tika-ooxml-protected"
_METADATA = {
    "author": ("dc:creator", "meta:author"),
    "created": ("dcterms:created",),
    "modified": ("dcterms:modified",),
    "content_type": ("Content-Type",),
}


@dataclass
class TikaObject:
    """One object of Tika's answer: its XHTML and its metadata (values: str or [str])."""

    xhtml: str
    metadata: Mapping[str, Any]

    def value(self, key: str) -> str:
        """A metadata value as one string (lists joined by '; '), '' when absent."""
        found = self.metadata.get(key)
        if isinstance(found, list):
            return "; ".join(str(item) for item in found if item)
        return str(found).strip() if found is not None else ""


def pages_of(xhtml: str) -> list[Page]:
    """Tika's XHTML as pages: one per page, slide or sheet div, else one page."""
    return parse_xhtml(xhtml, keep_newlines=True, page_classes=TIKA_PAGE_CLASSES).pages


def refusal(obj: TikaObject, filename: str) -> DocumentError | None:
    """The reason Tika failed on the file, when it says it did."""
    trace = obj.value(_EXCEPTION_KEY)
    if _ENCRYPTED in trace or obj.value("X-TIKA:encrypted") == "true":
        return EncryptedDocument(f"{filename}: password protected; remove the password")
    if "password" in trace.lower():
        return EncryptedDocument(f"{filename}: password protected ({trace.splitlines()[0]})")
    if "ZeroByteFileException" in trace:
        return EmptyFile(f"{filename}: the file is empty (0 bytes)")
    if trace:
        return CorruptDocument(f"{filename}: Tika could not parse it: {trace.splitlines()[0]}")
    return None


def nothing_read(obj: TikaObject, filename: str) -> DocumentError:
    """Why a file of which Tika read no text is refused (Tika itself says nothing is wrong).

    Tika returns encrypted PDFs and encrypted Word 97 files as documents without text, so the
    encryption flags in the metadata are checked before calling the file empty.
    """
    content_type = obj.value("Content-Type")
    warnings = obj.value("X-TIKA:warning")
    if (
        obj.value("pdf:encrypted") == "true"
        or _ENCRYPTED in warnings
        or content_type.startswith(_PROTECTED_OOXML)
    ):
        return EncryptedDocument(
            f"{filename}: password protected; remove the password and upload it again"
        )
    if content_type.startswith(("application/pdf", "image/")):
        return NoTextLayer(f"{filename}: no text layer: needs OCR")
    # Tika hands types it has no parser for to its EmptyParser.
    unknown = "EmptyParser" in obj.value("X-TIKA:Parsed-By")
    if unknown or not content_type or content_type.startswith("application/octet-stream"):
        return UnsupportedFormat(f"{filename}: Tika has no parser for this type of file")
    return DocumentError(f"{filename}: the document contains no text ({content_type})")


def to_attachment(name: str, obj: TikaObject) -> Attachment:
    """An embedded object as an attachment (it may hold no text; the caller drops those)."""
    if refusal(obj, name) is not None:
        return Attachment(name=name, pages=[])
    return Attachment(name=name, pages=pages_of(obj.xhtml))


def to_document(main: TikaObject, attachments: list[Attachment], filename: str) -> ParsedDocument:
    """The container's pages, then its attachments'; a refusal when none holds any text."""
    failure = refusal(main, filename)
    if failure is not None:
        raise failure
    pages = pages_of(main.xhtml)
    kept = [attachment for attachment in attachments if worth_keeping(attachment)]
    if not any(page.text.strip() for page in pages):
        if not kept:
            raise nothing_read(main, filename)
        pages = []  # an e-mail with an empty body: its attachments are the document
    declared = main.value("xmpTPg:NPages")
    is_pdf = main.value("Content-Type").startswith("application/pdf")
    if is_pdf and declared.isdigit() and int(declared) != len(pages):
        logger.warning("%s: Tika says %s pages but sent %d", filename, declared, len(pages))
    title = main.value("dc:title")
    if not title or title.lower() in PLACEHOLDER_TITLES:
        title = Path(filename).stem
    document = ParsedDocument(title=title, pages=pages, metadata=metadata_of(main))
    return append_attachments(document, kept)


def metadata_of(obj: TikaObject) -> dict[str, str]:
    """Author, dates and content type, as far as Tika found them."""
    metadata: dict[str, str] = {}
    for key, names in _METADATA.items():
        value = next((found for name in names if (found := obj.value(name))), "")
        if value:
            metadata[key] = value
    return metadata

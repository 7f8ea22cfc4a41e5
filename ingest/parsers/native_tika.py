"""Apache Tika compiled to native code (`iscc-tika`, no Java), run in worker processes.

The embedded default's parser for every format without a better in-process one (.doc, .ppt,
.pptx, .xls, .xlsx, .rtf, .odt, .epub, .msg ...) and the fallback after PDFium and
python-docx. Its XHTML is Tika's own, so pages, refusals and titles follow the same rules as
the Tika server's (tika_xhtml.py); files embedded in Office documents come inline as
`<div class="package-entry"><h1>name</h1>...</div>` and become attachments.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from lxml import etree

from core.errors import (
    CorruptDocument,
    DocumentError,
    EmptyFile,
    EncryptedDocument,
    ParserCrashed,
    ParserTimeout,
)
from ingest.document import ParsedDocument
from ingest.parsers.attachments import Attachment
from ingest.parsers.pool import WorkerCrashed, WorkerPool, WorkerTaskError, WorkerTimeout
from ingest.parsers.sniff import read_head
from ingest.parsers.tika_xhtml import TikaObject, to_attachment, to_document

# Tika's own default cuts text at 500,000 characters, a few hundred pages of a PDF.
MAX_CHARS = 200_000_000
_ENTRY = "package-entry"
# "...OfficeParser@4496998a": the object id says nothing to a person.
_JAVA_ID = re.compile(r"@[0-9a-f]{6,}\b")


class NativeTikaParser:
    """Reads any format Tika knows, in worker processes with a per-file time limit.

    A file that makes the native code run past `timeout_s` or crash fails alone (its worker
    is replaced); `workers` files are parsed at once at most.
    """

    name = "tika-native"

    def __init__(self, *, timeout_s: float = 120.0, workers: int = 1) -> None:
        self.timeout_s = timeout_s
        self._pool = WorkerPool(size=workers)

    def handles(self, suffix: str) -> bool:
        return True

    async def parse(self, path: Path, filename: str) -> ParsedDocument:
        main, attachments = await self._extract(path, filename)
        return to_document(main, attachments, filename)

    async def attachments(self, path: Path, filename: str) -> list[Attachment]:
        """The files embedded in this one (AttachmentReader)."""
        return (await self._extract(path, filename))[1]

    def worker_pids(self) -> list[int]:
        return self._pool.pids()

    async def aclose(self) -> None:
        self._pool.close()

    async def _extract(self, path: Path, filename: str) -> tuple[TikaObject, list[Attachment]]:
        where = await asyncio.to_thread(_checked, path, filename)
        args = {"path": where, "name": filename, "max_chars": MAX_CHARS}
        try:
            reply = await self._pool.run("tika", args, timeout_s=self.timeout_s)
        except WorkerTimeout as exc:
            raise ParserTimeout(
                f"{filename}: the native Tika parser took longer than {self.timeout_s:g} s and "
                "was stopped (KB_NATIVE_TIKA__TIMEOUT_S)"
            ) from exc
        except WorkerCrashed as exc:
            raise ParserCrashed(f"{filename}: the native Tika parser crashed ({exc})") from exc
        except WorkerTaskError as exc:
            raise _failure(exc, filename) from exc
        main, entries = split_package_entries(str(reply["xhtml"]))
        attachments = [to_attachment(name, TikaObject(xhtml, {})) for name, xhtml in entries]
        return TikaObject(main, _metadata(reply["metadata"])), attachments


def _checked(path: Path, filename: str) -> str:
    read_head(path, filename)  # a missing or empty file fails here, before any worker runs
    return str(path.resolve())


def _metadata(raw: Any) -> dict[str, Any]:
    return {str(key): value for key, value in raw.items()} if isinstance(raw, dict) else {}


def _failure(exc: WorkerTaskError, filename: str) -> DocumentError:
    said = _JAVA_ID.sub("", exc.message)
    if "> 0 bytes" in said:
        return EmptyFile(f"{filename}: the file is empty (0 bytes)")
    if "Encrypted" in said or "password" in said.lower():
        return EncryptedDocument(f"{filename}: password protected; remove the password")
    return CorruptDocument(f"{filename}: Tika could not parse it ({said[:300]})")


def split_package_entries(xhtml: str) -> tuple[str, list[tuple[str, str]]]:
    """The XHTML without its package entries, and each entry as (name, XHTML document)."""
    if _ENTRY not in xhtml:
        return xhtml, []
    parser = etree.XMLParser(recover=True, huge_tree=True, resolve_entities=False, no_network=True)
    root = etree.fromstring(xhtml.encode("utf-8"), parser)
    if root is None:
        return xhtml, []
    # Plain tag names: a detached element would be written as <html:div>, which the HTML
    # reader does not know.
    for element in root.iter():
        if isinstance(element.tag, str):
            element.tag = etree.QName(element).localname
    etree.cleanup_namespaces(root)
    entries = [
        element
        for element in root.iter("div")
        if _ENTRY in (element.get("class") or "").split()
        and not any(_ENTRY in (up.get("class") or "") for up in element.iterancestors())
    ]
    found: list[tuple[str, str]] = []
    for element in entries:
        heading = element.find("h1")
        name = "".join(heading.itertext()).strip() if heading is not None else ""
        if heading is not None:
            element.remove(heading)  # the name is the attachment's title, not its text
        element.getparent().remove(element)
        body = etree.tostring(element, encoding="unicode", with_tail=False)
        found.append((name or "attachment", f"<html><body>{body}</body></html>"))
    return etree.tostring(root, encoding="unicode"), found

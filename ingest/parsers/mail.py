"""E-mail (.eml, RFC 5322 with MIME) read in-process, every attachment through the parser set.

Tika's native XHTML for an e-mail keeps each MIME part's text but drops the attachments'
names, so the standard library reads the message instead: the body (plain text, else HTML)
is page 1, under the subject; each attachment is parsed by whichever parser its name picks
(a scanned PDF attached is OCRed, a .docx read by python-docx ...) and follows as pages of
its own, titled with its file name. Attached e-mails are read the same way, a few levels deep.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import logging
import mimetypes
import re
import tempfile
from collections.abc import Awaitable, Callable
from email import policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path, PurePath

from core.errors import CorruptDocument, DocumentError
from core.markup.pages import BLOCK_SEPARATOR, Heading, Page
from core.markup.xhtml import parse_xhtml
from ingest.document import ParsedDocument
from ingest.parsers.attachments import Attachment, append_attachments
from ingest.parsers.sniff import read_head

logger = logging.getLogger(__name__)

ReadFile = Callable[[Path, str], Awaitable[ParsedDocument]]
_HEADERS = ("from", "to", "cc", "date")
_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,10}$")


class EmailParser:
    """Reads .eml files; `read_file(path, name)` parses each attachment (the ParserSet)."""

    name = "email"

    def __init__(self, read_file: ReadFile, *, max_depth: int = 3) -> None:
        self._read_file = read_file
        self.max_depth = max_depth

    def handles(self, suffix: str) -> bool:
        return suffix == ".eml"

    async def parse(self, path: Path, filename: str) -> ParsedDocument:
        message = await asyncio.to_thread(_load, path, filename)
        return await self._document(message, filename, depth=0)

    async def _document(self, message: EmailMessage, filename: str, depth: int) -> ParsedDocument:
        subject = str(message.get("subject", "")).strip()
        title = subject or PurePath(filename).stem
        head = "\n".join(f"{key.title()}: {message[key]}" for key in _HEADERS if message[key])
        body = _body(message)
        text = BLOCK_SEPARATOR.join(part for part in (title, head, body) if part)
        page = Page(number=1, text=text, headings=[Heading(0, 1, title)])
        attachments: list[Attachment] = []
        for index, part in enumerate(message.iter_attachments(), start=1):
            name = _name(part, index)
            if part.get_content_type() == "message/rfc822" and depth < self.max_depth:
                inner = part.get_content()
                if isinstance(inner, EmailMessage):
                    document = await self._document(inner, name, depth + 1)
                    attachments.append(Attachment(name, document.pages))
            else:
                attachments.append(await self._attachment(part, name))
        metadata = _metadata(message)
        return append_attachments(ParsedDocument(title, [page], metadata), attachments)

    async def _attachment(self, part: EmailMessage, name: str) -> Attachment:
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes) or not payload:
            return Attachment(name, [])
        with tempfile.TemporaryDirectory(prefix="kb-mail-") as folder:
            path = Path(folder) / "attachment"
            await asyncio.to_thread(path.write_bytes, payload)
            try:
                document = await self._read_file(path, name)
            except DocumentError as exc:  # one unreadable attachment leaves the rest
                logger.info("attachment %s skipped: %s", name, exc.message)
                return Attachment(name, [])
        return Attachment(name, document.pages)


def _load(path: Path, filename: str) -> EmailMessage:
    read_head(path, filename)
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    if not isinstance(message, EmailMessage) or not any(
        message[key] for key in ("from", "to", "subject", "date", "message-id")
    ):
        raise CorruptDocument(f"{filename}: not an e-mail message (no From, To or Subject)")
    return message


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if not isinstance(part, EmailMessage):
        return ""
    content = part.get_content()
    text = content if isinstance(content, str) else ""
    if part.get_content_subtype() == "html":
        pages = parse_xhtml(text).pages
        text = BLOCK_SEPARATOR.join(page.text for page in pages)
    return text.replace("\r\n", "\n").strip()


def _name(part: EmailMessage, index: int) -> str:
    name = (part.get_filename() or "").strip().replace("/", "_").replace("\\", "_")
    if name:
        return name
    if part.get_content_type() == "message/rfc822":
        return f"message-{index}.eml"
    suffix = mimetypes.guess_extension(part.get_content_type()) or ".bin"
    return f"attachment-{index}{suffix if _SUFFIX.fullmatch(suffix) else '.bin'}"


def _metadata(message: EmailMessage) -> dict[str, str]:
    metadata = {"author": str(message.get("from", "")).strip()}
    with contextlib.suppress(TypeError, ValueError):  # no Date, or not a date
        metadata["created"] = parsedate_to_datetime(str(message["date"])).isoformat()
    return {key: value for key, value in metadata.items() if value}

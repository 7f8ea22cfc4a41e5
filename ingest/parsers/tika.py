"""Apache Tika 3.x server client: PUT /rmeta/xml, pages split on Tika's page divs."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from core.errors import (
    CorruptDocument,
    DocumentError,
    EmptyFile,
    EncryptedDocument,
    FileTooLarge,
    NoTextLayer,
    UnsupportedFormat,
    UpstreamError,
    UpstreamTimeout,
)
from core.markup.xhtml import parse_xhtml
from ingest.document import ParsedDocument
from ingest.parsers.pdf import PLACEHOLDER_TITLES
from ingest.parsers.sniff import read_head

logger = logging.getLogger(__name__)

# Tika's forked parser child is killed and restarted on OOM or a task timeout; requests in
# flight then see a dropped connection or a 503, and the restarted child usually succeeds.
_RETRYABLE = (httpx.NetworkError, httpx.RemoteProtocolError)
_EXCEPTION_KEY = "X-TIKA:EXCEPTION:container_exception"
_METADATA = {
    "author": ("dc:creator", "meta:author"),
    "created": ("dcterms:created",),
    "modified": ("dcterms:modified",),
    "content_type": ("Content-Type",),
}


class TikaParser:
    """Sends any file to an Apache Tika 3.x server; Tika reads about a thousand formats.

    One httpx client per upstream: pass one in to share its pool, else this parser builds its
    own and `aclose()` closes it. Dropped connections and 503s are retried exactly once.
    """

    name = "tika"

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 330.0,
        client: httpx.AsyncClient | None = None,
        retry_backoff_s: float = 1.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0))
        self._client = client if client is not None else httpx.AsyncClient()
        self._owns_client = client is None
        self._retry_backoff_s = retry_backoff_s

    def handles(self, suffix: str) -> bool:
        return True

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def parse(self, path: Path, filename: str) -> ParsedDocument:
        data = await asyncio.to_thread(_read, path, filename)
        response = await self._send(data, filename)
        return _document(_first_object(response, filename), filename)

    async def _send(self, data: bytes, filename: str) -> httpx.Response:
        try:
            response = await self._attempt(data, filename)
            if response.status_code != httpx.codes.SERVICE_UNAVAILABLE:
                return response
            reason = "503 Service Unavailable"
        except _RETRYABLE as exc:
            reason = f"{type(exc).__name__} {exc}".strip()
        logger.warning("Tika failed on %s (%s); retrying once", filename, reason)
        await asyncio.sleep(self._retry_backoff_s)
        try:
            return await self._attempt(data, filename)
        except _RETRYABLE as exc:
            raise UpstreamError(
                f"Tika at {self.url} dropped the connection twice for {filename} ({exc})"
            ) from exc

    async def _attempt(self, data: bytes, filename: str) -> httpx.Response:
        headers = {"Accept": "application/json", "Content-Disposition": disposition(filename)}
        try:
            return await self._client.put(
                f"{self.url}/rmeta/xml", content=data, headers=headers, timeout=self.timeout
            )
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(
                f"Tika at {self.url} did not answer in time for {filename} ({type(exc).__name__})"
            ) from exc
        except _RETRYABLE:
            raise
        except httpx.HTTPError as exc:
            raise UpstreamError(f"Tika at {self.url} failed for {filename}: {exc}") from exc


def _read(path: Path, filename: str) -> bytes:
    read_head(path, filename)
    # Whole-file bodies are bounded by the ingest size limit, and a retry must resend them.
    return path.read_bytes()


def disposition(filename: str) -> str:
    """Content-Disposition naming the file: an ASCII fallback plus RFC 5987 for the rest."""
    safe = "".join(c if " " <= c < "\x7f" and c not in '"\\' else "_" for c in filename)
    header = f'attachment; filename="{safe}"'
    if safe != filename:
        header += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return header


def _first_object(response: httpx.Response, filename: str) -> dict[str, Any]:
    status = response.status_code
    if status == httpx.codes.UNSUPPORTED_MEDIA_TYPE:
        raise UnsupportedFormat(f"{filename}: Tika has no parser for this type of file")
    if status == httpx.codes.UNPROCESSABLE_ENTITY:
        said = f"{response.headers} {response.text}".lower()
        if "encrypt" in said or "password" in said:
            raise EncryptedDocument(f"{filename}: password protected (Tika)")
        raise CorruptDocument(f"{filename}: Tika could not parse it (HTTP 422)")
    if status == httpx.codes.REQUEST_ENTITY_TOO_LARGE:
        raise FileTooLarge(f"{filename}: too large for the Tika server (HTTP 413)")
    if status != httpx.codes.OK:
        raise UpstreamError(f"Tika answered HTTP {status} for {filename}: {response.text[:200]}")
    try:
        objects = response.json()
    except ValueError as exc:
        raise UpstreamError(f"Tika answered {filename} with invalid JSON") from exc
    if not isinstance(objects, list) or not objects or not isinstance(objects[0], dict):
        raise UpstreamError(f"Tika answered {filename} with an unexpected JSON shape")
    first: dict[str, Any] = objects[0]
    return first


def _value(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if isinstance(value, list):
        return "; ".join(str(item) for item in value if item)
    return str(value).strip() if value is not None else ""


def _refusal(obj: dict[str, Any], filename: str) -> DocumentError | None:
    trace = _value(obj, _EXCEPTION_KEY)
    if "EncryptedDocumentException" in trace or _value(obj, "X-TIKA:encrypted") == "true":
        return EncryptedDocument(f"{filename}: password protected; remove the password")
    if "password" in trace.lower():
        return EncryptedDocument(f"{filename}: password protected ({trace.splitlines()[0]})")
    if "ZeroByteFileException" in trace:
        return EmptyFile(f"{filename}: the file is empty (0 bytes)")
    if trace:
        return CorruptDocument(f"{filename}: Tika could not parse it: {trace.splitlines()[0]}")
    return None


def _document(obj: dict[str, Any], filename: str) -> ParsedDocument:
    refusal = _refusal(obj, filename)
    if refusal:
        raise refusal
    content_type = _value(obj, "Content-Type")
    xhtml = parse_xhtml(_value(obj, "X-TIKA:content"), keep_newlines=True, page_divs=True)
    if not any(page.text.strip() for page in xhtml.pages):
        if content_type.startswith(("application/pdf", "image/")):
            raise NoTextLayer(f"{filename}: no text layer: needs OCR (e.g. Tika's -full image)")
        raise DocumentError(f"{filename}: Tika found no text in it ({content_type or 'unknown'})")
    declared = _value(obj, "xmpTPg:NPages")
    if declared.isdigit() and int(declared) != len(xhtml.pages):
        logger.warning(
            "%s: Tika says %s pages but sent %d page divs", filename, declared, len(xhtml.pages)
        )
    title = _value(obj, "dc:title")
    if not title or title.lower() in PLACEHOLDER_TITLES:
        title = Path(filename).stem
    return ParsedDocument(title=title, pages=xhtml.pages, metadata=_metadata(obj))


def _metadata(obj: dict[str, Any]) -> dict[str, str]:
    metadata: dict[str, str] = {}
    for key, names in _METADATA.items():
        value = next((found for name in names if (found := _value(obj, name))), "")
        if value:
            metadata[key] = value
    return metadata

"""Apache Tika 3.x server client: PUT /rmeta/xml; the container and every embedded file."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from core.errors import (
    CorruptDocument,
    EncryptedDocument,
    FileTooLarge,
    UnsupportedFormat,
    UpstreamError,
    UpstreamTimeout,
)
from ingest.document import ParsedDocument
from ingest.parsers.attachments import Attachment
from ingest.parsers.sniff import read_head
from ingest.parsers.tika_xhtml import TikaObject, to_attachment, to_document

logger = logging.getLogger(__name__)

# Tika's forked parser child is killed and restarted on OOM or a task timeout; requests in
# flight then see a dropped connection or a 503, and the restarted child usually succeeds.
_RETRYABLE = (httpx.NetworkError, httpx.RemoteProtocolError)


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
        objects = await self._rmeta(path, filename)
        return to_document(_tika_object(objects[0]), _attachments(objects[1:]), filename)

    async def attachments(self, path: Path, filename: str) -> list[Attachment]:
        """The files embedded in this one, each as Tika reads it (AttachmentReader)."""
        return _attachments((await self._rmeta(path, filename))[1:])

    async def _rmeta(self, path: Path, filename: str) -> list[dict[str, Any]]:
        """Every object of /rmeta: the container first, then each embedded file."""
        data = await asyncio.to_thread(_read, path, filename)
        return _objects(await self._send(data, filename), filename)

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


def _objects(response: httpx.Response, filename: str) -> list[dict[str, Any]]:
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
    if (
        not isinstance(objects, list)
        or not objects
        or any(not isinstance(o, dict) for o in objects)
    ):
        raise UpstreamError(f"Tika answered {filename} with an unexpected JSON shape")
    return objects


def _tika_object(obj: dict[str, Any]) -> TikaObject:
    return TikaObject(xhtml=str(obj.get("X-TIKA:content") or ""), metadata=obj)


def _attachments(objects: list[dict[str, Any]]) -> list[Attachment]:
    """/rmeta's objects after the first: each embedded file, depth first, in document order."""
    found: list[Attachment] = []
    for obj in objects:
        embedded = _tika_object(obj)
        # The path names nested files too: /mail.eml/report.docx/image1.png.
        name = embedded.value("X-TIKA:embedded_resource_path").strip("/")
        name = name or embedded.value("resourceName") or "attachment"
        found.append(to_attachment(name, embedded))
    return found

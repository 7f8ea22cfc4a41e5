"""`IngestClient`: the async HTTP client of the knowledge-base API (for the CLI and services)."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import httpx

from core.errors import NotFound, RagError, UpstreamError
from ingest.protocol import JobOut, KnowledgeBaseOut

UPLOAD_BATCH_FILES = 32


class IngestClient:
    """Talks to a running server's `/v1/knowledge-bases` and `/v1/jobs` routes."""

    def __init__(
        self, base_url: str, *, timeout_s: float = 60.0, headers: dict[str, str] | None = None
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url, timeout=httpx.Timeout(timeout_s), headers=headers
        )

    async def __aenter__(self) -> IngestClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._http.aclose()

    async def ensure_kb(self, name: str) -> KnowledgeBaseOut:
        response = await self._http.get(f"/v1/knowledge-bases/{name}")
        if response.status_code == 404:
            response = await self._http.post("/v1/knowledge-bases", json={"name": name})
        return KnowledgeBaseOut.model_validate(_checked(response).json())

    async def upload(self, kb: str, files: list[tuple[Path, str]]) -> JobOut:
        """Upload (path, source name) pairs as one job."""
        handles = [(source, path.open("rb")) for path, source in files]
        try:
            parts = [("files", (source, handle)) for source, handle in handles]
            response = await self._http.post(f"/v1/knowledge-bases/{kb}/documents", files=parts)
        finally:
            for _, handle in handles:
                handle.close()
        return JobOut.model_validate(_checked(response).json())

    async def job(self, job_id: str) -> JobOut:
        return JobOut.model_validate(_checked(await self._http.get(f"/v1/jobs/{job_id}")).json())


def _checked(response: httpx.Response) -> httpx.Response:
    if response.is_success:
        return response
    try:
        message = str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        message = response.text[:300]
    if response.status_code == 404:
        raise NotFound(message)
    if response.status_code < 500:
        raise RagError(f"server refused the request ({response.status_code}): {message}")
    raise UpstreamError(f"server error {response.status_code}: {message}")

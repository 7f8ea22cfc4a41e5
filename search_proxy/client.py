"""`SearchClient`: how the answer service and `kb` reach a running search proxy."""

from __future__ import annotations

import httpx

from core.errors import UpstreamError, UpstreamTimeout
from core.observability.context import outgoing_headers
from search_proxy.protocol import SearchRequest, SearchResponse

# Time on top of the search deadline for the proxy's own work and the network.
SLACK_S = 2.0


class SearchClient:
    """Calls `POST /v1/search`; every failure becomes `UpstreamError` (or `UpstreamTimeout`)."""

    def __init__(self, base_url: str, *, timeout_s: float) -> None:
        self._timeout_s = timeout_s
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/"), trust_env=False)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def search(self, request: SearchRequest) -> SearchResponse:
        """Merged results; the request's deadline defaults to this client's timeout."""
        deadline = request.timeout_s or self._timeout_s
        body = request.model_copy(update={"timeout_s": deadline}).model_dump(mode="json")
        where = f"search proxy at {self._http.base_url}"
        try:
            response = await self._http.post(
                "/v1/search", json=body, timeout=deadline + SLACK_S, headers=outgoing_headers()
            )
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(f"{where}: no answer in {deadline + SLACK_S:g} s") from exc
        except httpx.HTTPError as exc:
            raise UpstreamError(f"{where}: {type(exc).__name__}: {exc}") from exc
        if not response.is_success:
            raise UpstreamError(f"{where}: HTTP {response.status_code}: {response.text[:300]}")
        try:
            return SearchResponse.model_validate_json(response.content)
        except ValueError as exc:
            raise UpstreamError(f"{where}: the answer is not a search response") from exc

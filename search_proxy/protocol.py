"""Wire models of `POST /v1/search`, what one engine hands back, and the `WebSearch` seam."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, Field


class EngineHit(BaseModel):
    """One result as one engine returned it, mapped to the common schema."""

    url: str
    title: str
    snippet: str = ""
    rank: int = Field(ge=1, description="1-based position in that engine's response.")
    published: datetime | None = None


class SearchRequest(BaseModel):
    """Body of `POST /v1/search`."""

    query: str = Field(min_length=1, max_length=1000)
    engines: list[str] | None = Field(
        None, description="Engines to ask, by name; unset: every enabled engine."
    )
    max_results: int = Field(10, ge=1, le=50)
    timeout_s: float | None = Field(
        None, gt=0, le=60, description="Deadline for the whole search; unset: the configured one."
    )
    fetch_pages: bool | None = Field(
        None, description="Fetch the top results' pages; unset: the configured default (off)."
    )


class SearchResult(BaseModel):
    """One merged result: every engine that found it, and its rank in each."""

    url: str = Field(description="The URL as the best engine gave it (https preferred).")
    title: str
    snippet: str
    engines: list[str]
    ranks: dict[str, int] = Field(description="Engine name -> 1-based rank in its response.")
    score: float = Field(description="Weighted reciprocal rank summed over engines.")
    published: datetime | None = None
    page_text: str | None = Field(None, description="Clean text of the fetched page, if fetched.")


class EngineFailure(BaseModel):
    """An engine that gave nothing usable, and why."""

    engine: str
    reason: str = Field(description="timeout | rate_limited | error | unknown_engine")
    message: str = Field(description="What happened, e.g. 'brave: HTTP 500: …'.")


class SearchResponse(BaseModel):
    """Merged results, best first, plus the engines that failed or timed out."""

    object: str = "search.results"
    query: str = Field(description="The query sent to the engines, after the sensitive filter.")
    results: list[SearchResult]
    failed: list[EngineFailure] = Field(default_factory=list)
    blocked: bool = Field(False, description="The query was blocked by the sensitive filter.")
    filtered_results: int = Field(0, description="Results dropped by the sensitive filter.")
    elapsed_ms: float


class WebSearch(Protocol):
    """What the answer service calls: `SearchClient` (HTTP) or `SearchService` (in-process).

    Contract: engine failures are listed in the response, never raised; `UpstreamError` means
    the search as a whole could not run (the proxy is down or answered garbage).
    """

    async def search(self, request: SearchRequest) -> SearchResponse: ...

"""Tavily (`POST /search` with a JSON body, `Authorization: Bearer tvly-…`)."""

from __future__ import annotations

import httpx

from search_proxy.engines.base import bearer, exchange, hits, items
from search_proxy.protocol import EngineHit
from search_proxy.settings import EngineSettings

MAX_COUNT = 20


class TavilyEngine:
    """Tavily's search for LLM agents; `content` is already the query-relevant part."""

    name = "tavily"

    def __init__(self, settings: EngineSettings) -> None:
        self.settings = settings

    async def search(self, client: httpx.AsyncClient, query: str, count: int) -> list[EngineHit]:
        payload = {"query": query, "max_results": min(count, MAX_COUNT), "search_depth": "basic"}
        request = client.build_request(
            "POST", self.settings.url, json=payload, headers=bearer(self.settings)
        )
        body = await exchange(self.name, client, request)
        rows = [
            (r.get("url"), r.get("title"), r.get("content"), r.get("published_date"))
            for r in items(self.name, body, "results")
            if isinstance(r, dict)
        ]
        return hits(rows, count)

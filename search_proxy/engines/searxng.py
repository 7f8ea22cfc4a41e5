"""SearXNG's JSON API (`GET /search?q=…&format=json`); `json` must be in its search.formats."""

from __future__ import annotations

import httpx

from search_proxy.engines.base import exchange, hits, items
from search_proxy.protocol import EngineHit
from search_proxy.settings import EngineSettings


class SearxngEngine:
    """A self-hosted SearXNG: a metasearch engine of its own, keyless."""

    name = "searxng"

    def __init__(self, settings: EngineSettings) -> None:
        self.settings = settings

    async def search(self, client: httpx.AsyncClient, query: str, count: int) -> list[EngineHit]:
        params = {"q": query, "format": "json", "pageno": "1"}
        body = await exchange(
            self.name, client, client.build_request("GET", self.settings.url, params=params)
        )
        rows = [
            (r.get("url"), r.get("title"), r.get("content"), r.get("publishedDate"))
            for r in items(self.name, body, "results")
            if isinstance(r, dict)
        ]
        return hits(rows, count)

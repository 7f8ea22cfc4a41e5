"""Brave Search API (`GET /res/v1/web/search`, key in `X-Subscription-Token`)."""

from __future__ import annotations

import httpx

from search_proxy.engines.base import exchange, hits, items
from search_proxy.protocol import EngineHit
from search_proxy.settings import EngineSettings

MAX_COUNT = 20  # the API's own limit per request


class BraveEngine:
    """Brave's independent index; descriptions carry <strong> highlights that we strip."""

    name = "brave"

    def __init__(self, settings: EngineSettings) -> None:
        self.settings = settings

    async def search(self, client: httpx.AsyncClient, query: str, count: int) -> list[EngineHit]:
        key = self.settings.api_key.get_secret_value() if self.settings.api_key else ""
        request = client.build_request(
            "GET",
            self.settings.url,
            params={"q": query, "count": str(min(count, MAX_COUNT))},
            headers={"Accept": "application/json", "X-Subscription-Token": key},
        )
        body = await exchange(self.name, client, request)
        rows = [
            (r.get("url"), r.get("title"), r.get("description"), r.get("page_age"))
            for r in items(self.name, body, "web", "results")
            if isinstance(r, dict)
        ]
        return hits(rows, count)

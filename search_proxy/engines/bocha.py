"""Bocha 博查 (`POST /v1/web-search`): Chinese web search in Bing's response shape."""

from __future__ import annotations

from typing import Any

import httpx

from core.errors import UpstreamError
from search_proxy.engines.base import bearer, exchange, hits, items
from search_proxy.protocol import EngineHit
from search_proxy.settings import EngineSettings

MAX_COUNT = 50


class BochaEngine:
    """Bocha's web search; prefers its longer `summary` to the `snippet` when present."""

    name = "bocha"

    def __init__(self, settings: EngineSettings) -> None:
        self.settings = settings

    async def search(self, client: httpx.AsyncClient, query: str, count: int) -> list[EngineHit]:
        payload = {
            "query": query,
            "freshness": "noLimit",
            "summary": True,
            "count": min(count, MAX_COUNT),
        }
        request = client.build_request(
            "POST", self.settings.url, json=payload, headers=bearer(self.settings)
        )
        body = _checked(await exchange(self.name, client, request))
        rows = [
            (
                r.get("url"),
                r.get("name"),
                r.get("summary") or r.get("snippet"),
                r.get("datePublished"),
            )
            for r in items(self.name, body, "data", "webPages", "value")
            if isinstance(r, dict)
        ]
        return hits(rows, count)


def _checked(body: Any) -> Any:
    """Bocha wraps answers in {code, msg, data}; a code other than 200 is a failure."""
    code = body.get("code", 200) if isinstance(body, dict) else 200
    if code != 200:
        raise UpstreamError(f"bocha: error code {code}: {body.get('msg') or 'no message'}")
    return body

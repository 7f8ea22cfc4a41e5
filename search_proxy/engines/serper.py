"""Serper (`POST https://google.serper.dev/search`, key in `X-API-KEY`): Google results."""

from __future__ import annotations

from typing import Any

import httpx

from search_proxy.engines.base import exchange, hits, items
from search_proxy.protocol import EngineHit
from search_proxy.settings import EngineSettings

MAX_COUNT = 100


class SerperEngine:
    """Google's organic results through Serper; its dates are display strings, so unknown."""

    name = "serper"

    def __init__(self, settings: EngineSettings) -> None:
        self.settings = settings

    async def search(self, client: httpx.AsyncClient, query: str, count: int) -> list[EngineHit]:
        key = self.settings.api_key.get_secret_value() if self.settings.api_key else ""
        request = client.build_request(
            "POST",
            self.settings.url,
            json={"q": query, "num": min(count, MAX_COUNT)},
            headers={"X-API-KEY": key},
        )
        body = await exchange(self.name, client, request)
        ordered = sorted(
            (r for r in items(self.name, body, "organic") if isinstance(r, dict)), key=_position
        )
        rows = [(r.get("link"), r.get("title"), r.get("snippet"), None) for r in ordered]
        return hits(rows, count)


def _position(row: dict[str, Any]) -> int:
    """Serper's own 1-based position; rows without one go last, in their order."""
    position = row.get("position")
    return position if isinstance(position, int) else 1_000

"""Where answers get web results: the search proxy over HTTP, or the same code in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from search_proxy.app import open_embedded
from search_proxy.client import SearchClient
from search_proxy.protocol import WebSearch
from search_proxy.settings import SearchProxySettings
from serving.settings import WebSettings


@asynccontextmanager
async def open_web_search(
    settings: WebSettings, search: SearchProxySettings | None
) -> AsyncIterator[WebSearch | None]:
    """The proxy at `settings.url`; else an in-process proxy when an engine is enabled; else None.

    The in-process proxy is the embedded default's way to search the web without a second
    service; a deployment with a proxy container sets the URL, so only that container talks to
    external engines.
    """
    if settings.url:
        client = SearchClient(settings.url, timeout_s=settings.timeout_s)
        try:
            yield client
        finally:
            await client.aclose()
        return
    if search is None:
        yield None
        return
    async with open_embedded(search) as service:
        yield service

"""The search proxy's app factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from core.errors import ConfigurationError, install_error_handlers
from core.observability.http import instrument
from core.observability.ready import Check, http_check
from search_proxy.cache import TtlCache
from search_proxy.engines.base import Engine
from search_proxy.engines.registry import enabled_engines
from search_proxy.fanout import FanOut
from search_proxy.fetch.fetcher import PageFetcher
from search_proxy.protocol import EngineHit
from search_proxy.routes import router
from search_proxy.sensitive.matcher import SensitiveFilter
from search_proxy.sensitive.policy import FilterPolicy
from search_proxy.service import SearchService
from search_proxy.settings import SearchProxySettings

logger = logging.getLogger(__name__)


@asynccontextmanager
async def open_service(
    settings: SearchProxySettings, engines: list[Engine] | None = None
) -> AsyncIterator[SearchService]:
    """A search service with its HTTP clients, closed on exit; also used in-process by `kb`."""
    engines = enabled_engines(settings.engines) if engines is None else engines
    if not engines:
        logger.warning("no search engine is enabled: searches will return nothing")
    policy = FilterPolicy(SensitiveFilter.from_settings(settings.filter), settings.filter)
    cache: TtlCache[list[EngineHit]] = TtlCache(settings.cache.ttl_s, settings.cache.max_entries)
    async with httpx.AsyncClient(trust_env=False) as client, PageFetcher(settings.fetch) as fetcher:
        fanout = FanOut(engines, client, cache)
        yield SearchService(settings, fanout=fanout, policy=policy, fetcher=fetcher)


@asynccontextmanager
async def open_embedded(settings: SearchProxySettings) -> AsyncIterator[SearchService | None]:
    """The proxy in the caller's process when an engine is enabled, else None.

    The public way for another service to search without a proxy container (the embedded
    default); a deployment with a proxy container talks to it through `SearchClient`.
    """
    engines = enabled_engines(settings.engines)
    if not engines:
        yield None
        return
    async with open_service(settings, engines) as service:
        yield service


def proxy_checks(settings: SearchProxySettings) -> list[Check]:
    """At least one engine enabled, and the SearXNG container when it is one of them.

    Public engines are not probed: every probe would spend their paid quota.
    """

    async def some_engine() -> None:
        if not enabled_engines(settings.engines):
            raise ConfigurationError("no search engine is enabled (KB_SEARCH_ENGINES__*__ENABLED)")

    checks = [Check("engines", some_engine)]
    searxng = settings.engines.searxng
    if searxng.enabled:
        # SearXNG answers /healthz beside /search.
        health = searxng.url.rsplit("/search", 1)[0].rstrip("/") + "/healthz"
        checks.append(http_check("searxng", health))
    return checks


def create_app(settings: SearchProxySettings) -> FastAPI:
    """`POST /v1/search` over the configured engines, filter and fetcher."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_service(settings) as service:
            app.state.search = service
            yield

    app = FastAPI(
        title="kb search proxy",
        description="Several web search engines at once: merged, deduplicated and filtered.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    checks = proxy_checks(settings)
    instrument(app, "search_proxy", lambda _app: checks)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, object]:
        """Alive, with the engines it will ask."""
        return {"status": "ok", "engines": app.state.search.engines}

    app.include_router(router)
    return app

"""Stand-ins for the web search engines, each answering in its documented format.

One FastAPI app serves all five under a prefix each (`/searxng/search`, `/brave/res/v1/web/
search`, `/tavily/search`, `/bocha/v1/web-search`, `/serper/search`), checks each engine's
kind of API key, and can be steered per engine between requests: `results` to return, `delay_s`
before answering (slow engines, deadlines), `status` to fail with (500, 429 with `retry_after`),
`garbage` for an HTML page instead of JSON. Every request is recorded.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import SecretStr

from search_proxy.settings import EngineSettings, EnginesSettings

KEY = "test-key"
PATHS = {
    "searxng": ("GET", "/search"),
    "brave": ("GET", "/res/v1/web/search"),
    "tavily": ("POST", "/search"),
    "bocha": ("POST", "/v1/web-search"),
    "serper": ("POST", "/search"),
}


@dataclass(frozen=True)
class Page:
    """A search result to serve; `published` is an ISO date (formats that carry dates)."""

    url: str
    title: str
    snippet: str
    published: str | None = None


@dataclass
class Seen:
    """One request as an engine stand-in saw it."""

    query: str
    count: int
    headers: dict[str, str]


@dataclass
class EngineStandin:
    """One engine's behaviour and record."""

    name: str
    results: list[Page] = field(default_factory=list)
    delay_s: float = 0.0
    status: int = 200
    retry_after: str | None = None
    garbage: bool = False
    requests: list[Seen] = field(default_factory=list)

    def reset(self, **settings: Any) -> None:
        fresh = EngineStandin(self.name)
        for name in ("results", "delay_s", "status", "retry_after", "garbage"):
            setattr(self, name, settings.pop(name, getattr(fresh, name)))
        assert not settings, f"unknown settings {settings}"
        self.requests.clear()

    async def handle(self, request: Request) -> Response:
        query, count, body = await _read(self.name, request)
        self.requests.append(Seen(query, count, dict(request.headers)))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if not _authorised(self.name, request, body):
            return JSONResponse({"error": "invalid API key"}, status_code=401)
        if self.status != 200:
            headers = {"Retry-After": self.retry_after} if self.retry_after else {}
            return JSONResponse({"error": "stand-in failure"}, self.status, headers=headers)
        if self.garbage:  # what a wrong URL or a captive portal answers
            return Response("<html><body>Please log in</body></html>", media_type="text/html")
        return JSONResponse(FORMATS[self.name](query, self.results[:count]))


class EngineStandins:
    """All five stand-ins behind one app."""

    def __init__(self) -> None:
        self.engines = {name: EngineStandin(name) for name in PATHS}

    def __getitem__(self, name: str) -> EngineStandin:
        return self.engines[name]

    def reset(self) -> None:
        for engine in self.engines.values():
            engine.reset()

    def app(self) -> FastAPI:
        app = FastAPI(title="search engine stand-ins")
        for name, (method, path) in PATHS.items():
            router = APIRouter(prefix=f"/{name}")
            router.add_api_route(path, self.engines[name].handle, methods=[method])
            app.include_router(router)

        @app.get("/searxng/healthz")
        async def searxng_health() -> PlainTextResponse:
            """SearXNG's own health endpoint, beside its /search."""
            return PlainTextResponse("OK")

        return app

    def settings(self, base_url: str, *names: str, **overrides: Any) -> EnginesSettings:
        """Engine settings pointing at the stand-ins; `names` enabled (default all)."""
        chosen = names or tuple(PATHS)
        engines = {
            name: EngineSettings(
                enabled=name in chosen,
                url=f"{base_url}/{name}{path}",
                api_key=None if name == "searxng" else SecretStr(KEY),
                **{"rate_per_s": 100.0, "burst": 100, **overrides},
            )
            for name, (_, path) in PATHS.items()
        }
        return EnginesSettings(**engines)


async def _read(name: str, request: Request) -> tuple[str, int, dict[str, Any]]:
    if request.method == "GET":
        params = request.query_params
        if name == "searxng" and params.get("format") != "json":
            return "", 0, {}
        return params.get("q", ""), int(params.get("count", 10)), {}
    body: dict[str, Any] = await request.json()
    query = body.get("q") if name == "serper" else body.get("query")
    count = body.get({"tavily": "max_results", "serper": "num"}.get(name, "count"), 10)
    return str(query or ""), int(count), body


def _authorised(name: str, request: Request, body: dict[str, Any]) -> bool:
    headers = request.headers
    if name == "brave":
        return headers.get("x-subscription-token") == KEY
    if name == "serper":
        return headers.get("x-api-key") == KEY
    if name in ("tavily", "bocha"):
        return headers.get("authorization") == f"Bearer {KEY}"
    return True


def _searxng(query: str, pages: list[Page]) -> dict[str, Any]:
    results = [
        {
            "url": p.url,
            "title": p.title,
            "content": p.snippet,
            "engine": "duckduckgo",
            "engines": ["duckduckgo"],
            "positions": [i],
            "score": 1.0 / i,
            "category": "general",
            "publishedDate": p.published,
        }
        for i, p in enumerate(pages, 1)
    ]
    return {"query": query, "results": results, "answers": [], "unresponsive_engines": []}


def _brave(query: str, pages: list[Page]) -> dict[str, Any]:
    results = [
        {
            "title": p.title,
            "url": p.url,
            "description": p.snippet.replace(query, f"<strong>{query}</strong>"),
            "page_age": p.published,
            "meta_url": {"hostname": p.url.split("/")[2]},
        }
        for p in pages
    ]
    return {"type": "search", "query": {"original": query}, "web": {"results": results}}


def _tavily(query: str, pages: list[Page]) -> dict[str, Any]:
    results = [
        {
            "title": p.title,
            "url": p.url,
            "content": p.snippet,
            "score": 0.9,
            "published_date": p.published,
        }
        for p in pages
    ]
    return {"query": query, "answer": None, "images": [], "results": results, "response_time": 0.1}


def _bocha(query: str, pages: list[Page]) -> dict[str, Any]:
    value = [
        {
            "name": p.title,
            "url": p.url,
            "snippet": p.snippet,
            "summary": p.snippet,
            "siteName": p.url.split("/")[2],
            "datePublished": p.published,
        }
        for p in pages
    ]
    return {"code": 200, "msg": None, "data": {"webPages": {"value": value}}}


def _serper(query: str, pages: list[Page]) -> dict[str, Any]:
    organic = [
        {"title": p.title, "link": p.url, "snippet": p.snippet, "position": i}
        for i, p in enumerate(pages, 1)
    ]
    return {"searchParameters": {"q": query}, "organic": organic, "relatedSearches": []}


FORMATS = {
    "searxng": _searxng,
    "brave": _brave,
    "tavily": _tavily,
    "bocha": _bocha,
    "serper": _serper,
}

"""The stand-in's REST routes: the part of Qdrant's API that `QdrantClientStore` uses.

Paths, bodies and results follow Qdrant's OpenAPI description (`docs/redoc/master/openapi.json`
in qdrant/qdrant); bodies are parsed with qdrant-client's own REST models. Every answer is
Qdrant's envelope `{"result": ..., "status": "ok", "time": s}`, every failure
`{"status": {"error": "..."}, "time": s}` with Qdrant's status code. With `api_key`, requests
need it in an `api-key` header (or `Authorization: Bearer`), except the paths Qdrant leaves
open (`/`, `/healthz`, `/readyz`, `/livez`), and get Qdrant's plain-text 401 without it.
"""

from __future__ import annotations

import hmac
import importlib.metadata
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError
from qdrant_client.http import models as m
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.support.qdrant_standin import convert, indexes, points, render
from tests.support.qdrant_standin.collections import Collections
from tests.support.qdrant_standin.errors import QdrantError, from_edge

Handler = Callable[[Request, Collections], Awaitable[Any]]


def create_qdrant_standin(path: Path, *, api_key: str | None = None) -> Starlette:
    """The stand-in app over the Edge collections in `path` (created if missing)."""
    collections = Collections(path)
    version = importlib.metadata.version("qdrant-client")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        collections.load()
        try:
            yield
        finally:
            collections.close_all()

    def route(path: str, method: str, handler: Handler) -> Route:
        async def endpoint(request: Request) -> Response:
            started = time.perf_counter()
            if api_key is not None and (refusal := _refuse(request, api_key)):
                return PlainTextResponse(refusal, status_code=401)
            try:
                result = await handler(request, collections)
            except QdrantError as exc:
                body = {"status": {"error": exc.message}, "time": time.perf_counter() - started}
                return JSONResponse(body, status_code=exc.status)
            return JSONResponse(
                {"result": result, "status": "ok", "time": time.perf_counter() - started}
            )

        return Route(path, endpoint, methods=[method])

    async def root(request: Request) -> Response:
        # Not in the envelope: Qdrant answers `VersionInfo` itself, which the client's
        # version check reads (the client's own version, so the check passes).
        return JSONResponse({"title": "qdrant - vector search engine", "version": version})

    async def health(request: Request) -> Response:
        return PlainTextResponse(f"{request.url.path.strip('/')} check passed")

    base = "/collections/{name}"
    routes = [
        Route("/", root, methods=["GET"]),
        *(Route(p, health, methods=["GET"]) for p in ("/healthz", "/readyz", "/livez")),
        route("/collections", "GET", _list),
        route(base + "/exists", "GET", _exists),
        route(base, "PUT", _create),
        route(base, "GET", _info),
        route(base, "DELETE", _delete),
        route(base + "/index", "PUT", _create_index),
        route(base + "/points", "PUT", _upsert),
        route(base + "/points/delete", "POST", _delete_points),
        route(base + "/points/count", "POST", _count),
        route(base + "/points/scroll", "POST", _scroll),
        route(base + "/points/query", "POST", _query),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def _refuse(request: Request, api_key: str) -> str | None:
    bearer = request.headers.get("authorization", "")
    given = request.headers.get("api-key") or bearer.removeprefix("Bearer ") or None
    if given is None:
        return "Must provide an API key or an Authorization bearer token"
    return None if hmac.compare_digest(given, api_key) else "Invalid API key or JWT"


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


async def _body(request: Request, model: Any) -> Any:
    adapter = _ADAPTERS.setdefault(model, TypeAdapter(model))
    try:
        return adapter.validate_json(await request.body() or b"{}")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise QdrantError(400, f"Format error in JSON body: {where}: {first['msg']}") from exc


def _update_result(request: Request, operation_id: int) -> dict[str, Any]:
    wait = request.query_params.get("wait", "false").lower() == "true"
    return {"operation_id": operation_id, "status": "completed" if wait else "acknowledged"}


async def _list(request: Request, collections: Collections) -> Any:
    return {"collections": [{"name": name} for name in collections.names()]}


async def _exists(request: Request, collections: Collections) -> Any:
    return {"exists": collections.exists(request.path_params["name"])}


async def _create(request: Request, collections: Collections) -> Any:
    await collections.create(request.path_params["name"], await _body(request, m.CreateCollection))
    return True


async def _info(request: Request, collections: Collections) -> Any:
    collection = collections.get(request.path_params["name"])
    return render.collection_info(collection, await collection.read("info"))


async def _delete(request: Request, collections: Collections) -> Any:
    return await collections.delete(request.path_params["name"])


async def _create_index(request: Request, collections: Collections) -> Any:
    collection = collections.get(request.path_params["name"])
    body = await _body(request, m.CreateFieldIndex)
    operation = _edge(lambda: indexes.create_index(body))
    return _update_result(request, await collection.write(operation))


async def _upsert(request: Request, collections: Collections) -> Any:
    collection = collections.get(request.path_params["name"])
    body = await _body(request, m.PointInsertOperations)
    operation = _edge(lambda: points.upsert(body))
    return _update_result(request, await collection.write(operation))


async def _delete_points(request: Request, collections: Collections) -> Any:
    collection = collections.get(request.path_params["name"])
    body = await _body(request, m.PointsSelector)
    operation = _edge(lambda: points.delete(body))
    return _update_result(request, await collection.write(operation))


async def _count(request: Request, collections: Collections) -> Any:
    collection = collections.get(request.path_params["name"])
    body = await _body(request, m.CountRequest)
    edge_request = _edge(lambda: convert.count_request(body))
    return {"count": await collection.read("count", edge_request)}


async def _scroll(request: Request, collections: Collections) -> Any:
    collection = collections.get(request.path_params["name"])
    body = await _body(request, m.ScrollRequest)
    records, next_offset = await collection.read(
        "scroll", _edge(lambda: convert.scroll_request(body))
    )
    offset = None if next_offset is None else render.point_id(next_offset)
    return {"points": [render.record(r) for r in records], "next_page_offset": offset}


async def _query(request: Request, collections: Collections) -> Any:
    collection = collections.get(request.path_params["name"])
    body = await _body(request, m.QueryRequest)
    found = await collection.read("query", _edge(lambda: convert.query_request(body)))
    return {"points": [render.scored(p) for p in found]}


def _edge(build: Callable[[], Any]) -> Any:
    """Build an Edge request; Edge's constructors check values too (ids, index params)."""
    try:
        return build()
    except QdrantError:
        raise
    except Exception as exc:  # Edge raises ValueError/TypeError with Qdrant's own text
        raise from_edge(exc) from exc

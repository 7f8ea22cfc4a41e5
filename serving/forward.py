"""Services mode: forward the knowledge-base API to the ingest service, streaming both ways."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from core.errors import UpstreamError, UpstreamTimeout
from ingest.app import Lifespan

# Hop-by-hop headers (RFC 9110 §7.6.1) and ones httpx recomputes must not be copied.
_DROP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "host", "content-length"}
PATHS = ("/v1/knowledge-bases", "/v1/knowledge-bases/{rest:path}", "/v1/jobs/{rest:path}")


def forward_router() -> APIRouter:
    """Routes that relay requests to `app.state.ingest_http` unchanged."""
    router = APIRouter(tags=["knowledge bases"])

    async def relay(request: Request) -> StreamingResponse:
        client: httpx.AsyncClient = request.app.state.ingest_http
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _DROP}
        upstream = client.build_request(
            request.method, request.url.path, params=request.query_params,
            headers=headers, content=request.stream(),
        )  # fmt: skip
        try:
            response = await client.send(upstream, stream=True)
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout("the ingest service did not answer in time") from exc
        except httpx.TransportError as exc:
            raise UpstreamError(f"the ingest service is unreachable: {exc}") from exc
        kept = {k: v for k, v in response.headers.items() if k.lower() not in _DROP}
        return StreamingResponse(
            response.aiter_raw(), status_code=response.status_code, headers=kept,
            background=BackgroundTask(response.aclose),
        )  # fmt: skip

    for path in PATHS:
        router.add_api_route(
            path, relay, methods=["GET", "POST", "DELETE"], include_in_schema=False
        )
    return router


def forward_lifespan(base_url: str, timeout_s: float) -> Lifespan:
    """One httpx client for the ingest upstream, closed on shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(base_url=base_url, timeout=timeout_s) as client:
            app.state.ingest_http = client
            yield

    return lifespan

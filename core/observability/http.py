"""`instrument(app, service)`: request ids, request metrics, `GET /metrics` and `GET /readyz`.

The middleware is plain ASGI (not Starlette's BaseHTTPMiddleware) so that streamed answers
pass through untouched and are timed to their last byte. Routes are labelled by their
template (`/v1/kbs/{name}`), never by the path a client sent, to keep label values bounded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest, start_http_server
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.observability import context
from core.observability.metrics import HTTP_DURATION, HTTP_REQUESTS
from core.observability.ready import Check, run_checks

logger = logging.getLogger(__name__)

ChecksOf = Callable[[FastAPI], list[Check]]


class RequestMiddleware:
    """Gives each request an id (the caller's `X-Request-ID`, or a new one) and times it."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self._app, self._service = app, service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(context.REQUEST_ID_HEADER.lower().encode())
        request_id = context.accept_request_id(given.decode("latin-1") if given else None)
        token = context.request_id.set(request_id)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((context.REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self._app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            labels = (self._service, template, scope["method"], str(status))
            HTTP_REQUESTS.labels(*labels).inc()
            HTTP_DURATION.labels(*labels).observe(time.perf_counter() - started)
            context.request_id.reset(token)


def serve_metrics(port: int) -> bool:
    """`/metrics` on `port` from a thread, for a process without an HTTP API (a worker).

    A port already in use is logged, not raised: the work matters more than measuring it.
    """
    try:
        start_http_server(port)
    except OSError as exc:
        logger.error("metrics not served: port %d: %s", port, exc.strerror)
        return False
    return True


def instrument(app: FastAPI, service: str, checks: ChecksOf | None = None) -> None:
    """Add the middleware, `GET /metrics` and `GET /readyz` (over `checks(app)`) to `app`.

    `checks` is called per probe, so it can use what the app's lifespan put on `app.state`.
    """
    app.add_middleware(RequestMiddleware, service=service)

    @app.get("/metrics", tags=["health"], include_in_schema=False)
    async def metrics() -> Response:
        """Prometheus text format: this process's metrics."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/readyz", tags=["health"])
    async def readyz(request: Request) -> JSONResponse:
        """Ready when every dependency answers; 503 names the ones that do not."""
        results = await run_checks(checks(request.app) if checks else [])
        failed = sorted(name for name, result in results.items() if result != "ok")
        if failed:
            logger.warning("not ready: %s", ", ".join(f"{n} {results[n]}" for n in failed))
        body = {"status": "unready" if failed else "ready", "failed": failed, "checks": results}
        return JSONResponse(body, status_code=503 if failed else 200)

"""The ingest service's app factory; the answer service reuses its lifespan in embedded mode."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI

from core import health
from core.auth.authenticator import Authenticator
from core.auth.settings import AuthSettings
from core.embeddings import Embedder
from core.errors import install_error_handlers
from core.observability.http import instrument
from core.observability.metrics import INGEST_BACKLOG
from core.observability.ready import Check, database_check, http_check
from ingest.routes import router
from ingest.runtime import IngestRuntime
from ingest.settings import IngestSettings

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def ingest_lifespan(
    settings: IngestSettings,
    *,
    server_url: str | None,
    embedder: Embedder | None = None,
    on_ready: Callable[[FastAPI, IngestRuntime], None] | None = None,
) -> Lifespan:
    """Open the runtime (claiming the data folder) on start-up, close it on shutdown.

    `on_ready` lets the embedding app build what else it serves from the same runtime.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await IngestRuntime.open(settings, server_url=server_url, embedder=embedder)
        app.state.ingest = runtime
        watch_backlog(runtime)
        if on_ready is not None:
            on_ready(app, runtime)
        if settings.worker.in_process:
            runtime.start_worker()
        try:
            yield
        finally:
            await runtime.close()

    return lifespan


def watch_backlog(runtime: IngestRuntime) -> None:
    """`kb_ingest_backlog_files` reads the shared queue whenever metrics are collected."""

    def backlog() -> float:
        try:
            return float(runtime.jobs.backlog())
        except Exception:  # Boundary: a closed or unreachable database must not break /metrics.
            return float("nan")

    INGEST_BACKLOG.set_function(backlog)


def ingest_checks(settings: IngestSettings) -> Callable[[FastAPI], list[Check]]:
    """The dependencies ingestion needs: the database, a Qdrant server and Tika when set."""
    store, tika = settings.store, settings.tika

    def checks(app: FastAPI) -> list[Check]:
        found = [database_check(app.state.ingest.db)]
        if store.qdrant_url:
            key = store.qdrant_api_key.get_secret_value() if store.qdrant_api_key else None
            headers = {"api-key": key} if key else {}
            url = store.qdrant_url.rstrip("/") + "/collections"
            found.append(http_check("qdrant", url, headers=headers))
        if tika.url:
            found.append(http_check("tika", tika.url.rstrip("/") + "/version"))
        return found

    return checks


def create_app(
    settings: IngestSettings,
    *,
    server_url: str | None = None,
    embedder: Embedder | None = None,
    auth: AuthSettings | None = None,
) -> FastAPI:
    """The ingest service on its own (`python -m ingest serve`).

    With `auth` enabled callers need keys, as on the answer service; without, it answers only
    loopback callers (the rule of `core.auth.dependency` for apps without an authenticator).
    """

    def ready(app: FastAPI, runtime: IngestRuntime) -> None:
        if auth is not None and auth.enabled:
            app.state.auth = Authenticator(auth, runtime.db)

    app = FastAPI(
        title="kb ingest",
        lifespan=ingest_lifespan(
            settings, server_url=server_url, embedder=embedder, on_ready=ready
        ),
    )
    install_error_handlers(app)
    instrument(app, "ingest", ingest_checks(settings))
    app.include_router(health.router)
    app.include_router(router)
    return app

"""The public API's app factory."""

from __future__ import annotations

from fastapi import FastAPI

from core import health
from core.embeddings import Embedder
from core.errors import install_error_handlers
from ingest.app import ingest_lifespan
from ingest.routes import router as ingest_router
from ingest.settings import IngestSettings
from serving.forward import forward_lifespan, forward_router
from serving.settings import ServingSettings


def create_app(
    settings: ServingSettings, ingest: IngestSettings, *, embedder: Embedder | None = None
) -> FastAPI:
    """Embedded mode runs ingestion in this process; services mode forwards to `ingest_url`."""
    if settings.ingest_url:
        lifespan = forward_lifespan(settings.ingest_url, settings.upstream_timeout_s)
    else:
        lifespan = ingest_lifespan(ingest, server_url=settings.local_url, embedder=embedder)
    app = FastAPI(
        title="kb: private knowledge assistant",
        description="Knowledge bases with cited answers; OpenAI-compatible where it matters.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(forward_router() if settings.ingest_url else ingest_router)
    return app

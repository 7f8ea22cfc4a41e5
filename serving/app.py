"""The public API's app factory."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from core import health
from core.embeddings import Embedder
from core.errors import install_error_handlers
from ingest.app import ingest_lifespan
from ingest.routes import router as ingest_router
from ingest.runtime import IngestRuntime
from ingest.settings import IngestSettings
from retrieval.hybrid import HybridRetriever
from retrieval.rerank import CrossEncoderReranker
from retrieval.routes import router as retrieval_router
from serving.forward import forward_lifespan, forward_router
from serving.settings import ServingSettings


def build_retriever(runtime: IngestRuntime, settings: ServingSettings) -> HybridRetriever:
    """Retrieval over the runtime's store, seeing what its registry says is live."""
    model = settings.retrieval.reranker_model
    return HybridRetriever(
        store=runtime.store,
        embedder=runtime.embedder,
        bm25=runtime.bm25,
        hidden_generations=runtime.registry.hidden_generations,
        knowledge_bases=runtime.registry.kb_names,
        settings=settings.retrieval,
        reranker=CrossEncoderReranker(model) if model else None,
    )


def _on_ready(settings: ServingSettings) -> Callable[[FastAPI, IngestRuntime], None]:
    def attach(app: FastAPI, runtime: IngestRuntime) -> None:
        app.state.retriever = build_retriever(runtime, settings)

    return attach


def create_app(
    settings: ServingSettings, ingest: IngestSettings, *, embedder: Embedder | None = None
) -> FastAPI:
    """Embedded mode runs ingestion in this process; services mode forwards to `ingest_url`."""
    if settings.ingest_url:
        lifespan = forward_lifespan(settings.ingest_url, settings.upstream_timeout_s)
    else:
        lifespan = ingest_lifespan(
            ingest, server_url=settings.local_url, embedder=embedder, on_ready=_on_ready(settings)
        )
    app = FastAPI(
        title="kb: private knowledge assistant",
        description="Knowledge bases with cited answers; OpenAI-compatible where it matters.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(forward_router() if settings.ingest_url else ingest_router)
    if not settings.ingest_url:
        app.include_router(retrieval_router)
    return app

"""The public API's app factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from core import health
from core.audit import AuditLog
from core.auth.authenticator import Authenticator, check_bind
from core.auth.limits import Limiter
from core.auth.scope import scoped
from core.auth.verify import ExternalTokens, TokenVerifier
from core.cache.factory import open_cache
from core.cache.protocol import Cache
from core.cache.redis import RedisCache
from core.embeddings import Embedder
from core.embeddings.memo import QueryMemo
from core.errors import InvalidToken, install_error_handlers
from core.llm.client import LLMClient
from core.observability.http import instrument
from core.observability.ready import Check, http_check
from core.oidc import OidcVerifier
from ingest.app import Lifespan, ingest_checks, ingest_lifespan
from ingest.routes import router as ingest_router
from ingest.runtime import IngestRuntime
from ingest.settings import IngestSettings
from retrieval.hybrid import HybridRetriever
from retrieval.rerank import CrossEncoderReranker
from retrieval.routes import router as retrieval_router
from search_proxy.protocol import WebSearch
from search_proxy.settings import SearchProxySettings
from serving.access import router as access_router
from serving.audit.recorder import AuditRecorder
from serving.audit.routes import router as audit_router
from serving.chat.cache import AnswerCache
from serving.chat.extractive import ExtractiveAnswerer
from serving.chat.routes import router as chat_router
from serving.chat.service import ChatService
from serving.chat.support import SupportChecker
from serving.conversations.routes import router as conversations_router
from serving.conversations.store import ConversationStore
from serving.feedback.routes import router as feedback_router
from serving.feedback.store import FeedbackStore
from serving.model_alias import ModelAlias
from serving.model_alias import router as alias_router
from serving.settings import ServingSettings
from serving.web import page as web_page
from serving.web_search import open_web_search


def build_retriever(runtime: IngestRuntime, settings: ServingSettings) -> HybridRetriever:
    """Retrieval over the runtime's store, seeing what its registry says is live.

    Each search sees only what the current caller may read (`core.auth.scope`). Query vectors
    are remembered (`QueryMemo`): an extractive answer reuses the question's.
    """
    model = settings.retrieval.reranker_model
    return HybridRetriever(
        store=runtime.store,
        embedder=QueryMemo(runtime.embedder),
        sparse=runtime.sparse,
        visibility=scoped(runtime.registry.visibility),
        settings=settings.retrieval,
        reranker=CrossEncoderReranker(model) if model else None,
    )


def build_chat(
    runtime: IngestRuntime,
    retriever: HybridRetriever,
    settings: ServingSettings,
    web: WebSearch | None = None,
    cache: Cache | None = None,
) -> ChatService:
    """Answers over the runtime's knowledge bases; with an LLM and web search when configured.

    The LLM is asked for the model alias's current target (a promoted adapter, or the base);
    answers are cached in `cache` when one is given.
    """
    chat = settings.chat
    alias = ModelAlias(runtime.db, settings.llm.model)
    llm = LLMClient(settings.llm, model=lambda: alias.model) if settings.llm.base_url else None
    answers = None
    if cache is not None:
        fingerprint = {"chat": chat, "retrieval": settings.retrieval, "llm": settings.llm}
        answers = AnswerCache(cache, settings.cache.ttl_s, fingerprint)
    return ChatService(
        retriever=retriever,
        extractive=ExtractiveAnswerer(
            retriever.embedder,
            sentences=chat.extractive_sentences,
            min_similarity=chat.extractive_min_similarity,
            candidates=chat.extractive_candidates,
            cache_size=chat.extractive_cache,
            bm25=runtime.sparse.encoder(),
        ),
        visibility=scoped(runtime.registry.visibility),
        settings=chat,
        llm=llm,
        web=web,
        web_settings=settings.web,
        support=(
            SupportChecker(
                runtime.embedder,
                tokenizer=runtime.sparse.encoder().tokenizer,
                threshold=chat.citation_threshold,
            )
            if chat.citation_check
            else None
        ),
        cache=answers,
        privacy=settings.privacy,
    )


def _token_verifiers(app: FastAPI, settings: ServingSettings) -> list[TokenVerifier]:
    """Bearer verifiers besides our API keys: the identity provider's, when one is set.

    Its verifier is kept on `app.state.oidc` so that the lifespan closes its connections.
    """
    if not settings.oidc.enabled:
        return []
    app.state.oidc = OidcVerifier(settings.oidc)
    groups = frozenset(settings.auth.admin_groups)
    return [ExternalTokens(app.state.oidc, errors=(InvalidToken,), admin_groups=groups)]


def _on_ready(settings: ServingSettings) -> Callable[[FastAPI, IngestRuntime], None]:
    def attach(app: FastAPI, runtime: IngestRuntime) -> None:
        data = runtime.settings.data_dir
        app.state.auth = Authenticator(settings.auth, runtime.db, _token_verifiers(app, settings))
        app.state.retriever = build_retriever(runtime, settings)
        app.state.model_alias = ModelAlias(runtime.db, settings.llm.model)
        app.state.model_alias.import_legacy(data)
        app.state.feedback = FeedbackStore(runtime.db)
        app.state.feedback.import_legacy(data)
        app.state.conversations = ConversationStore(runtime.db)
        # Retention is applied by the first record written and then daily (AuditLog.record).
        app.state.audit = AuditLog(runtime.db, settings.audit)
        app.state.chat = build_chat(
            runtime, app.state.retriever, settings, app.state.web, app.state.cache
        )

    return attach


def _answering(
    lifespan: Lifespan, settings: ServingSettings, search: SearchProxySettings | None
) -> Lifespan:
    """Open web search before the runtime is ready; close it and the LLM's connections last."""

    @asynccontextmanager
    async def wrapped(app: FastAPI) -> AsyncIterator[None]:
        async with open_web_search(settings.web, search) as web:
            app.state.web = web
            cache = settings.cache
            app.state.cache = (
                await open_cache(
                    settings.redis_url, prefix=settings.redis_prefix, max_entries=cache.max_entries
                )
                if cache.enabled
                else None
            )
            # Its own cache: limits must count even when answers are not cached.
            limits = await open_cache(
                settings.redis_url, prefix=settings.redis_prefix, max_entries=100_000
            )
            app.state.limiter = Limiter(limits, settings.auth)
            try:
                async with lifespan(app):
                    try:
                        yield
                    finally:
                        if (chat := getattr(app.state, "chat", None)) is not None:
                            await chat.aclose()
            finally:
                await app.state.limiter.close()
                if (oidc := getattr(app.state, "oidc", None)) is not None:
                    await oidc.aclose()

    return wrapped


def serving_checks(
    settings: ServingSettings, ingest: IngestSettings
) -> Callable[[FastAPI], list[Check]]:
    """Ingestion's dependencies, and Redis and the search proxy when this deployment has them."""
    base = ingest_checks(ingest)

    def checks(app: FastAPI) -> list[Check]:
        found = base(app)
        if isinstance(cache := app.state.cache, RedisCache):
            found.append(Check("redis", cache.ping))
        if settings.web.url:
            found.append(http_check("search_proxy", settings.web.url.rstrip("/") + "/healthz"))
        return found

    return checks


def create_app(
    settings: ServingSettings,
    ingest: IngestSettings,
    *,
    embedder: Embedder | None = None,
    search: SearchProxySettings | None = None,
) -> FastAPI:
    """Ingestion, retrieval and answers in this process, over the configured store and parsers.

    `search` configures an in-process web search proxy, used when `settings.web.url` names none.
    Without authentication configured it only serves loopback (ConfigurationError otherwise).
    """
    check_bind(settings.auth, settings.host)
    lifespan = _answering(
        ingest_lifespan(
            ingest, server_url=settings.local_url, embedder=embedder, on_ready=_on_ready(settings)
        ),
        settings,
        search,
    )
    app = FastAPI(
        title="kb: private knowledge assistant",
        description="Knowledge bases with cited answers; OpenAI-compatible where it matters.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    # Around every route, so that it times whole responses and sees what every layer left in
    # state; `instrument`'s request-id and metrics middleware, added after, wraps it in turn.
    app.add_middleware(AuditRecorder)
    instrument(app, "serving", serving_checks(settings, ingest))
    app.include_router(health.router)
    app.include_router(ingest_router)
    app.include_router(retrieval_router)
    app.include_router(chat_router)
    app.include_router(feedback_router)
    app.include_router(conversations_router)
    app.include_router(alias_router)
    app.include_router(access_router)
    app.include_router(audit_router)
    web_page.install(app, enabled=settings.page.enabled, render_scale=settings.page.render_scale)
    return app

"""Settings of the answer service, read from `KB_*` variables once at start-up."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.audit.settings import AuditSettings
from core.auth.settings import AuthSettings
from core.llm.settings import LLMSettings
from core.oidc.settings import OidcSettings
from core.privacy.settings import PrivacySettings
from core.settings import LogSettings
from retrieval.settings import RetrievalSettings
from serving.tls import TlsSettings


class ChatSettings(BaseModel):
    """Limits and sizes of `POST /v1/chat/completions`."""

    max_message_chars: int = Field(8000, ge=1, description="Longest single message accepted.")
    max_total_chars: int = Field(32000, ge=1, description="Longest conversation accepted.")
    passages: int = Field(6, ge=1, le=50, description="Retrieved passages given to the answer.")
    history_messages: int = Field(
        6, ge=0, description="Earlier messages of the conversation sent along to the LLM."
    )
    extractive_sentences: int = Field(
        3, ge=1, le=10, description="Sentences in an extractive answer (no LLM, or it failed)."
    )
    extractive_min_similarity: float = Field(
        0.2,
        ge=-1,
        le=1,
        description="Below this query-sentence cosine similarity, an extractive answer says the "
        "knowledge base does not say instead of quoting unrelated sentences.",
    )
    citation_check: bool = Field(
        True,
        description="Check each cited claim against its passage: every citation gets "
        "`supported` and `support`, and an unsupported one a warning.",
    )
    citation_threshold: float = Field(
        0.5, ge=0, le=1, description="Support score below which a citation is unsupported."
    )
    extractive_candidates: int = Field(
        12,
        ge=0,
        description="Sentences of the retrieved passages embedded for an extractive answer: the "
        "lexically (BM25) best ones; 0 embeds every sentence (slower, see the README).",
    )
    extractive_cache: int = Field(
        10_000,
        ge=0,
        description="Sentence vectors kept for extractive answers (about 2 KB each); 0: none.",
    )


class WebSettings(BaseModel):
    """Web search for answers that ask for it (`kb/<name>+web`, or `"web_search": true`)."""

    url: str | None = Field(
        None,
        description="The search proxy, e.g. http://search-proxy:8100; unset: search in this "
        "process with the KB_SEARCH_* engines, if any is enabled.",
    )
    max_results: int = Field(5, ge=1, le=20, description="Web results given to an answer.")
    timeout_s: float = Field(
        8.0, gt=0, description="Deadline for the web search; the answer goes on without it."
    )
    fetch_pages: bool = Field(
        False, description="Read the top results' pages, not only their snippets (slower)."
    )


class AnswerCacheSettings(BaseModel):
    """Answers kept for the same question over the same content (see serving.chat.cache)."""

    enabled: bool = Field(True, description="Cache answers (Redis with KB_REDIS_URL, else here).")
    ttl_s: float = Field(3600.0, gt=0, description="How long a cached answer is served.")
    max_entries: int = Field(
        1024, ge=1, description="Answers kept in-process (without Redis), least recent out."
    )


class PageSettings(BaseModel):
    """The built-in web page at `/` and its document viewer."""

    enabled: bool = Field(True, description="Serve the web page at / (the API stays either way).")
    render_scale: float = Field(
        1.5, gt=0, le=4, description="PDF pages are rendered at this times 72 dpi for the viewer."
    )


class ServingSettings(BaseSettings):
    """Where the public API listens."""

    model_config = SettingsConfigDict(
        env_prefix="KB_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    host: str = Field("127.0.0.1", description="Interface to listen on (0.0.0.0 in containers).")
    port: int = Field(8000, ge=1, le=65535, description="TCP port of the API.")
    upstream_timeout_s: float = Field(
        300.0, gt=0, description="Timeout of CLI requests to a running server."
    )
    redis_url: str | None = Field(
        None,
        description="Redis shared by API replicas (answer cache), e.g. redis://redis:6379/0; "
        "unset: an in-process cache.",
    )
    redis_prefix: str = Field(
        "kb:", description="Prefix of every Redis key, so that deployments can share a Redis."
    )
    api_key: SecretStr | None = Field(
        None, description="The key `kb` commands send to a running server that requires one."
    )
    auth: AuthSettings = Field(default_factory=AuthSettings)
    cache: AnswerCacheSettings = Field(default_factory=AnswerCacheSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    chat: ChatSettings = Field(default_factory=ChatSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    log: LogSettings = Field(default_factory=LogSettings)
    page: PageSettings = Field(default_factory=PageSettings)
    oidc: OidcSettings = Field(default_factory=OidcSettings)
    tls: TlsSettings = Field(default_factory=TlsSettings)

    @property
    def local_url(self) -> str:
        """How another process on this machine reaches the server."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"{'https' if self.tls.enabled else 'http'}://{host}:{self.port}"

"""Settings of the search proxy, read from `KB_SEARCH_*` variables once at start-up.

Nested fields use `__`: `KB_SEARCH_ENGINES__BRAVE__API_KEY`, `KB_SEARCH_FILTER__WORDS_FILE`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.settings import LogSettings

MIB = 1024 * 1024


class EngineSettings(BaseModel):
    """One search engine: where it is, its key, and how hard we may use it."""

    enabled: bool = Field(False, description="Ask this engine on every search.")
    url: str = Field(description="The engine's search endpoint.")
    api_key: SecretStr | None = Field(None, description="The engine's API key, if it needs one.")
    weight: float = Field(1.0, gt=0, description="Its weight in the reciprocal-rank merge.")
    timeout_s: float = Field(5.0, gt=0, description="Longest wait for this engine alone.")
    rate_per_s: float = Field(1.0, gt=0, description="Requests per second it allows (refill).")
    burst: int = Field(2, ge=1, description="Requests it allows back to back.")
    backoff_s: float = Field(
        30.0, ge=0, description="Pause after a 429 when the engine sends no Retry-After."
    )


def _engine(url: str) -> EngineSettings:
    return EngineSettings(url=url)


class EnginesSettings(BaseModel):
    """The engines we know; each is off until enabled (and keyed where it needs a key)."""

    searxng: EngineSettings = Field(default_factory=lambda: _engine("http://searxng:8080/search"))
    brave: EngineSettings = Field(
        default_factory=lambda: _engine("https://api.search.brave.com/res/v1/web/search")
    )
    tavily: EngineSettings = Field(default_factory=lambda: _engine("https://api.tavily.com/search"))
    bocha: EngineSettings = Field(
        default_factory=lambda: _engine("https://api.bochaai.com/v1/web-search")
    )
    serper: EngineSettings = Field(
        default_factory=lambda: _engine("https://google.serper.dev/search")
    )


class FilterSettings(BaseModel):
    """The sensitive-word filter on outgoing queries and incoming results."""

    words_file: Path | None = Field(
        None, description="Word list, one entry per line: `word` or `word<TAB>category`."
    )
    allow_file: Path | None = Field(
        None, description="Terms never flagged although they contain a listed word."
    )
    query_action: Literal["block", "strip"] = Field(
        "block", description="A query with a listed word: refuse it, or remove the word."
    )
    result_action: Literal["mask", "drop"] = Field(
        "mask", description="A result with a listed word: mask the word, or drop the result."
    )
    mask_char: str = Field("*", min_length=1, max_length=1, description="Masks each character.")


class FetchSettings(BaseModel):
    """Fetching the top results' pages, behind an SSRF guard."""

    enabled: bool = Field(False, description="Fetch pages when a request does not say.")
    top_n: int = Field(3, ge=1, le=10, description="How many top results to fetch.")
    max_bytes: int = Field(2 * MIB, ge=1024, description="Larger pages are cut off here.")
    timeout_s: float = Field(10.0, gt=0, description="Deadline for one page, redirects included.")
    connect_timeout_s: float = Field(3.0, gt=0, description="Time to open a connection.")
    max_redirects: int = Field(3, ge=0, le=10, description="Each hop is checked again.")
    max_text_chars: int = Field(20000, ge=100, description="Clean text kept per page.")
    allowed_networks: list[str] = Field(
        default_factory=list,
        description="CIDRs exempt from the non-global-address rule (an intranet you trust). "
        "Empty by default: every private, loopback and link-local address is refused.",
    )


class CacheSettings(BaseModel):
    """Recent engine answers, reused for identical queries."""

    ttl_s: float = Field(300.0, ge=0, description="How long an answer is reused; 0 turns it off.")
    max_entries: int = Field(1024, ge=1, description="Oldest entries go first beyond this.")


class SearchProxySettings(BaseSettings):
    """Everything the search proxy needs."""

    model_config = SettingsConfigDict(
        env_prefix="KB_SEARCH_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    host: str = Field("127.0.0.1", description="Interface to listen on (0.0.0.0 in containers).")
    port: int = Field(8100, ge=1, le=65535, description="TCP port of the proxy.")
    deadline_s: float = Field(
        8.0, gt=0, description="Deadline for a whole search when a request sets none."
    )
    engines: EnginesSettings = Field(default_factory=EnginesSettings)
    filter: FilterSettings = Field(default_factory=FilterSettings)
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    log: LogSettings = Field(default_factory=LogSettings)

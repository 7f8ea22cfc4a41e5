"""Settings of the answer service, read from `KB_*` variables once at start-up."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from retrieval.settings import RetrievalSettings


class ServingSettings(BaseSettings):
    """Where the public API listens."""

    model_config = SettingsConfigDict(
        env_prefix="KB_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    host: str = Field("127.0.0.1", description="Interface to listen on (0.0.0.0 in containers).")
    port: int = Field(8000, ge=1, le=65535, description="TCP port of the API.")
    ingest_url: str | None = Field(
        None,
        description="Services mode: the ingest service's URL; knowledge-base, document and job "
        "requests are forwarded to it. Unset (embedded mode): ingestion runs in this process.",
    )
    upstream_timeout_s: float = Field(300.0, gt=0, description="Timeout for forwarded requests.")
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)

    @property
    def local_url(self) -> str:
        """How another process on this machine reaches the server."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"

"""Settings of the ingest service, read from `KB_*` variables once at start-up."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.settings import EmbeddingSettings, StoreSettings, default_data_dir

MIB = 1024 * 1024


class TikaSettings(BaseModel):
    """The Apache Tika 3.x server used for formats we do not parse in-process."""

    url: str | None = Field(None, description="Tika server URL, e.g. http://tika:9998.")
    timeout_s: float = Field(
        330.0, gt=0, description="Per-request timeout; a little above Tika's 300 s task timeout."
    )
    for_all: bool = Field(
        False, description="Send PDF, DOCX, text and HTML to Tika too, not only other formats."
    )


class ChunkSettings(BaseModel):
    """Chunk sizes, counted in the embedding model's own tokens."""

    max_tokens: int = Field(
        240, ge=16, description="Upper bound per chunk; capped by the model's window."
    )
    overlap_tokens: int = Field(32, ge=0, description="Tokens repeated from the previous chunk.")


class IngestSettings(BaseSettings):
    """Everything ingestion needs; nested fields use `__`, e.g. KB_CHUNK__MAX_TOKENS."""

    model_config = SettingsConfigDict(
        env_prefix="KB_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    data_dir: Path = Field(default_factory=default_data_dir, description="The one data folder.")
    max_file_bytes: int = Field(100 * MIB, ge=1, description="Files over this size are refused.")
    max_unzipped_bytes: int = Field(
        500 * MIB, ge=1, description="Bound on a DOCX's decompressed size (zip bombs)."
    )
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    chunk: ChunkSettings = Field(default_factory=ChunkSettings)
    tika: TikaSettings = Field(default_factory=TikaSettings)
    # The documented short names also work, as operators expect from the compose file.
    tika_url: str | None = Field(
        None, validation_alias=AliasChoices("TIKA_URL"), description="Same as KB_TIKA__URL."
    )
    qdrant_url: str | None = Field(
        None,
        validation_alias=AliasChoices("QDRANT_URL"),
        description="Same as KB_STORE__QDRANT_URL.",
    )

    @property
    def models_dir(self) -> Path:
        """Where exported embedding graphs are cached: the setting, else `<data>/models`."""
        return self.embedding.cache_dir or self.data_dir / "models"

    def model_post_init(self, _context: object) -> None:
        if self.tika_url and not self.tika.url:
            self.tika.url = self.tika_url
        if self.qdrant_url and not self.store.qdrant_url:
            self.store.qdrant_url = self.qdrant_url

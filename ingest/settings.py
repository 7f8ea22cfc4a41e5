"""Settings of the ingest service, read from `KB_*` variables once at start-up."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import ConfigurationError
from core.privacy.settings import PrivacySettings
from core.settings import EmbeddingSettings, LogSettings, StoreSettings, default_data_dir

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


class NativeTikaSettings(BaseModel):
    """Apache Tika compiled to native code, in-process formats without a Tika server."""

    enabled: bool = Field(
        True, description="Read .doc, .pptx, .xlsx, .rtf, .odt, .epub ... without a server."
    )
    timeout_s: float = Field(
        120.0, gt=0, description="Per-file limit; past it the worker is killed, the file fails."
    )
    workers: int = Field(1, ge=1, le=16, description="Worker processes, files parsed at once.")


class OcrSettings(BaseModel):
    """OCR of PDF pages without a text layer (PP-OCRv4, Chinese and English, in-process)."""

    enabled: bool = Field(True, description="Off: scanned PDFs fail with 'needs OCR'.")
    page_timeout_s: float = Field(
        120.0, gt=0, description="Per-page limit; past it the page is left without text."
    )
    scale: float = Field(
        2.0, gt=0.5, le=6.0, description="Render scale over PDF points (2.0 = 144 dpi)."
    )


class ChunkSettings(BaseModel):
    """Chunk sizes, counted in the embedding model's own tokens."""

    max_tokens: int = Field(
        240, ge=16, description="Upper bound per chunk; capped by the model's window."
    )
    overlap_tokens: int = Field(32, ge=0, description="Tokens repeated from the previous chunk.")


class SparseSettings(BaseModel):
    """The BM25 side: words the Chinese segmenter must keep whole."""

    user_dictionary: Path | None = Field(
        None,
        description="A jieba-style dictionary (one word per line, optional frequency and tag "
        "after it; '#' starts a comment). It applies to knowledge bases created after it is "
        "set; each one keeps the words it was first encoded with.",
    )

    def dictionary_words(self) -> list[str]:
        if self.user_dictionary is None:
            return []
        try:
            lines = self.user_dictionary.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read the BM25 user dictionary {self.user_dictionary}: {exc}"
            ) from exc
        return sorted({line.split()[0] for line in lines if line.strip() and line[0] != "#"})


class WorkerSettings(BaseModel):
    """Ingest workers: where they run and how they hold the jobs they claim."""

    in_process: bool = Field(
        True,
        description="Run an ingest worker inside `kb serve` (the embedded default). Services "
        "mode sets false and runs `python -m ingest worker` processes instead.",
    )
    lease_s: float = Field(
        30.0, gt=1, description="A claimed job's lease; renewed every third of it. A worker "
        "that dies loses its jobs to others after at most this long."
    )  # fmt: skip
    poll_s: float = Field(1.0, gt=0, description="How often an idle worker looks for jobs.")
    purge_grace_s: float = Field(
        30.0, ge=0, description="Chunks of a replaced or abandoned version are deleted this "
        "long after it was hidden: longer than any query still reading the old snapshot."
    )  # fmt: skip
    metrics_port: int = Field(
        9101, ge=0, le=65535, description="Port where `python -m ingest worker` serves "
        "/metrics (it has no other HTTP server); 0 turns it off."
    )  # fmt: skip
    janitor_s: float = Field(
        30.0, gt=0, description="How often a worker purges replaced chunks and retires "
        "generations that dead workers left staged."
    )  # fmt: skip


class IngestSettings(BaseSettings):
    """Everything ingestion needs; nested fields use `__`, e.g. KB_CHUNK__MAX_TOKENS."""

    model_config = SettingsConfigDict(
        env_prefix="KB_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    data_dir: Path = Field(default_factory=default_data_dir, description="The one data folder.")
    database_url: str | None = Field(
        None,
        description="The metadata store every service shares, e.g. postgresql://kb:secret@"
        "postgres/kb (services mode); unset: SQLite in the data folder.",
    )
    uploads_dir: Path | None = Field(
        None,
        description="Where uploads wait for a worker; every API replica and worker must "
        "mount the same folder. Default: uploads/ in the data folder.",
    )
    originals_dir: Path | None = Field(
        None,
        description="Where the original file of each live document is kept (page viewers "
        "render from it); shared like the uploads folder. Default: originals/ in the data folder.",
    )
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    max_file_bytes: int = Field(100 * MIB, ge=1, description="Files over this size are refused.")
    max_upload_files: int = Field(
        200, ge=1, le=1000, description="Files one upload request may carry (413 above)."
    )
    max_upload_bytes: int = Field(
        1024 * MIB, ge=1, description="Bytes one upload request may carry (413 above)."
    )
    max_unzipped_bytes: int = Field(
        500 * MIB, ge=1, description="Bound on a DOCX's decompressed size (zip bombs)."
    )
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    chunk: ChunkSettings = Field(default_factory=ChunkSettings)
    sparse: SparseSettings = Field(default_factory=SparseSettings)
    tika: TikaSettings = Field(default_factory=TikaSettings)
    native_tika: NativeTikaSettings = Field(default_factory=NativeTikaSettings)
    ocr: OcrSettings = Field(default_factory=OcrSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    log: LogSettings = Field(default_factory=LogSettings)
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
    def uploads_path(self) -> Path:
        return self.uploads_dir or self.data_dir / "uploads"

    @property
    def originals_path(self) -> Path:
        return self.originals_dir or self.data_dir / "originals"

    @property
    def shared(self) -> bool:
        """Whether several processes share this deployment's state.

        With PostgreSQL and a Qdrant server, nobody claims the data folder and crash
        recovery goes by job leases.
        """
        return bool(self.database_url) and bool(self.store.qdrant_url)

    @property
    def models_dir(self) -> Path:
        """Where exported embedding graphs are cached: the setting, else `<data>/models`."""
        return self.embedding.cache_dir or self.data_dir / "models"

    def model_post_init(self, _context: object) -> None:
        if self.tika_url and not self.tika.url:
            self.tika.url = self.tika_url
        if self.qdrant_url and not self.store.qdrant_url:
            self.store.qdrant_url = self.qdrant_url

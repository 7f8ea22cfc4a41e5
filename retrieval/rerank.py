"""Optional second stage: a local cross-encoder rescoring the fused candidates."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from core.errors import ConfigurationError


class Reranker(Protocol):
    """Scores (query, passage) pairs; higher is more relevant. Sync: callers use a thread."""

    def scores(self, query: str, passages: Sequence[str]) -> list[float]: ...


class CrossEncoderReranker:
    """sentence-transformers CrossEncoder from a local folder (never downloaded)."""

    def __init__(self, model_path: str, device: str | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import CrossEncoder

        if not Path(model_path).expanduser().is_dir():
            raise ConfigurationError(f"reranker model {model_path!r} is not a local folder")
        self._model: Any = CrossEncoder(
            str(Path(model_path).expanduser()), device=device, local_files_only=True
        )

    def scores(self, query: str, passages: Sequence[str]) -> list[float]:
        if not passages:
            return []
        raw = self._model.predict([(query, p) for p in passages], show_progress_bar=False)
        return [float(x) for x in raw]

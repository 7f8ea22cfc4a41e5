"""Cross-package fixtures: a clean environment and one loaded embedding model per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.embeddings import Embedder, open_embedder
from core.settings import EmbeddingSettings

os.environ.setdefault("HF_HUB_OFFLINE", "1")

_OURS = ("KB_", "TIKA_URL", "QDRANT_URL")


@pytest.fixture(scope="session")
def models_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache of exported ONNX graphs for the whole session: each graph is exported once."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, models_cache: Path) -> None:
    """No developer's KB_* settings leak into tests (tests/support/env keeps the URLs).

    Runtimes and `kb` processes started by tests share the session's graph cache.
    """
    for name in list(os.environ):
        if name.startswith(_OURS):
            monkeypatch.delenv(name)
    monkeypatch.setenv("KB_EMBEDDING__CACHE_DIR", str(models_cache))


@pytest.fixture(scope="session")
def embedder(models_cache: Path) -> Embedder:
    """The real bundled all-MiniLM-L6-v2 on the default engine, loaded once."""
    return open_embedder(EmbeddingSettings(), models_cache)

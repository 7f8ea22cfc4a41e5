"""Cross-package fixtures: a clean environment, the embedding model, a Qdrant stand-in."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.embeddings import Embedder, open_embedder
from core.settings import EmbeddingSettings
from tests.support.databases import postgres_database
from tests.support.qdrant_standin import QdrantStandinProcess

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


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh database on the machine's real PostgreSQL (dropped after the test)."""
    with postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def metadata_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """Each metadata backend in turn: None is SQLite in the data folder, else PostgreSQL."""
    if request.param == "sqlite":
        yield None
        return
    with postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
def qdrant_standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QdrantStandinProcess]:
    """The loopback Qdrant server stand-in, its own process; tests use their own collections."""
    with QdrantStandinProcess(tmp_path_factory.mktemp("qdrant-standin")) as standin:
        yield standin

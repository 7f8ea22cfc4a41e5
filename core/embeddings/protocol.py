"""The embedding seam: one model turns chunks and queries into dense vectors.

Embedding is CPU/GPU-bound work, so the protocol is synchronous and callers run it in a
worker thread (`asyncio.to_thread`) to keep the event loop free.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Embedder(Protocol):
    """Dense text embeddings from one model.

    Contract: `embed_documents` returns one L2-normalised vector of `dimension` floats per text,
    in order; `embed_query` likewise for one query. `max_tokens` is how many of the model's own
    tokens it reads (without special tokens); `token_spans` gives the character span of each
    of those tokens in a text, so that chunkers can size chunks in the model's tokens.
    `name` identifies the model (not the engine that runs it): the index signature of a data
    folder is built from it.
    """

    name: str
    dimension: int
    max_tokens: int

    def token_spans(self, text: str) -> list[tuple[int, int]]: ...

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...

"""BM25 sparse vectors from a tokenizer, the same at ingest and at query time.

Tokens are hashed to 32-bit indices. Documents carry BM25's saturated term frequency; Qdrant
applies IDF at query time through the `idf` modifier, so collection statistics stay right as
documents come and go.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass

from core.sparse.tokens import MixedTokenizer, Tokenizer


@dataclass(frozen=True)
class SparseVector:
    """Parallel lists of token indices and weights, indices unique."""

    indices: list[int]
    values: list[float]


def token_index(token: str) -> int:
    """A stable 32-bit index for a token (Python's hash() is salted per process)."""
    return int.from_bytes(hashlib.blake2b(token.encode(), digest_size=4).digest(), "big")


class Bm25Encoder:
    """Tokenises text and builds BM25 document and query vectors."""

    def __init__(
        self,
        tokenizer: Tokenizer | None = None,
        *,
        k1: float = 1.2,
        b: float = 0.75,
        avg_len: float = 120.0,
    ) -> None:
        self.tokenizer = tokenizer if tokenizer is not None else MixedTokenizer()
        self.k1, self.b, self.avg_len = k1, b, avg_len

    def tokens(self, text: str) -> list[str]:
        return self.tokenizer.tokens(text)

    def document(self, text: str) -> SparseVector:
        counts = Counter(token_index(t) for t in self.tokens(text))
        length = sum(counts.values())
        norm = self.k1 * (1 - self.b + self.b * length / self.avg_len)
        weights = {i: tf * (self.k1 + 1) / (tf + norm) for i, tf in counts.items()}
        return SparseVector(list(weights), list(weights.values()))

    def query(self, text: str) -> SparseVector:
        return query_vector(self.tokens(text))


def query_vector(tokens: list[str]) -> SparseVector:
    """Each distinct token once, weight 1: Qdrant's IDF modifier does the rest."""
    indices = sorted({token_index(t) for t in tokens})
    return SparseVector(indices, [1.0] * len(indices))

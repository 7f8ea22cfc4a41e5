"""A plain BM25 over whitespace tokens: the baseline our CJK-aware tokenizer must beat."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence


class WhitespaceBm25:
    """Okapi BM25 (k1=1.2, b=0.75) over `text.lower().split()`; scores documents by best chunk."""

    def __init__(self, chunks: Sequence[tuple[str, str]], k1: float = 1.2, b: float = 0.75) -> None:
        self._postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self._docs = [doc for doc, _ in chunks]
        lengths = []
        for i, (_, text) in enumerate(chunks):
            tokens = text.lower().split()
            lengths.append(len(tokens))
            for token, tf in Counter(tokens).items():
                self._postings[token].append((i, tf))
        self._lengths = lengths
        self._avg = sum(lengths) / len(lengths) if lengths else 1.0
        self._k1, self._b = k1, b

    def search(self, query: str, k: int) -> list[str]:
        """Document ids, best first, at most k."""
        n = len(self._lengths)
        scores: dict[int, float] = defaultdict(float)
        for token in set(query.lower().split()):
            postings = self._postings.get(token, [])
            idf = math.log(1 + (n - len(postings) + 0.5) / (len(postings) + 0.5))
            for i, tf in postings:
                norm = self._k1 * (1 - self._b + self._b * self._lengths[i] / self._avg)
                scores[i] += idf * tf * (self._k1 + 1) / (tf + norm)
        ranked: list[str] = []
        for i in sorted(scores, key=lambda i: -scores[i]):
            if self._docs[i] not in ranked:
                ranked.append(self._docs[i])
                if len(ranked) == k:
                    break
        return ranked

"""CJK-aware BM25 sparse vectors, the same at ingest and at query time.

Chinese runs are segmented with jieba, Japanese kana and Korean hangul runs become character
bigrams, everything else becomes lower-cased word tokens (NFKC-normalised, so full-width
letters match half-width ones), English words Snowball-stemmed (+2 points nDCG@10 for BM25
on SciFact: 0.664 → 0.683). Tokens are hashed to 32-bit indices. Documents carry BM25's
saturated term frequency; Qdrant applies IDF at query time through the `idf` modifier, so
collection statistics stay right as documents come and go.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Any

import snowballstemmer

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_KANA_HANGUL = r"\u3040-\u30ff\u31f0-\u31ff\uac00-\ud7af"
_RUNS = re.compile(rf"([{_HAN}]+)|([{_KANA_HANGUL}]+)|(\w+)")
_NOT_WORD = re.compile(r"^\W+$")
_LATIN_WORD = re.compile(r"^[a-z]+$")

# Bump whenever tokens or weights change: indexes built by another version must be rebuilt.
SPARSE_VERSION = "bm25-cjk-2"

# A short list: BM25's IDF already discounts common words, this only trims the vectors.
STOPWORDS = frozenset(
    {
        "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in",
        "is", "it", "its", "of", "on", "or", "that", "the", "this", "to", "was", "were",
        "will", "with",
    }
)  # fmt: skip


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

    def __init__(self, *, k1: float = 1.2, b: float = 0.75, avg_len: float = 120.0) -> None:
        self.k1, self.b, self.avg_len = k1, b, avg_len
        self._jieba: Any = None
        self._jieba_lock = threading.Lock()
        self._stemmer: Any = snowballstemmer.stemmer("english")
        self._stems: dict[str, str] = {}  # the stemmer is pure Python: remember its answers

    def _stem(self, word: str) -> str:
        stem = self._stems.get(word)
        if stem is None:
            stem = self._stemmer.stemWord(word) if _LATIN_WORD.match(word) else word
            if len(self._stems) < 500_000:
                self._stems[word] = stem
        return stem

    def _segment_han(self, run: str) -> list[str]:
        if self._jieba is None:
            with self._jieba_lock:
                if self._jieba is None:
                    import jieba

                    jieba.setLogLevel(logging.WARNING)
                    tokenizer = jieba.Tokenizer()
                    tokenizer.initialize()
                    self._jieba = tokenizer
        return [t for t in self._jieba.lcut(run) if t.strip() and not _NOT_WORD.match(t)]

    def tokens(self, text: str) -> list[str]:
        out: list[str] = []
        for han, kana, word in _RUNS.findall(unicodedata.normalize("NFKC", text).lower()):
            if han:
                out.extend(self._segment_han(han))
            elif kana:
                out.extend(kana[i : i + 2] for i in range(max(1, len(kana) - 1)))
            elif word not in STOPWORDS:
                out.append(self._stem(word))
        return out

    def document(self, text: str) -> SparseVector:
        counts = Counter(token_index(t) for t in self.tokens(text))
        length = sum(counts.values())
        norm = self.k1 * (1 - self.b + self.b * length / self.avg_len)
        weights = {i: tf * (self.k1 + 1) / (tf + norm) for i, tf in counts.items()}
        return SparseVector(list(weights), list(weights.values()))

    def query(self, text: str) -> SparseVector:
        indices = sorted({token_index(t) for t in self.tokens(text)})
        return SparseVector(indices, [1.0] * len(indices))

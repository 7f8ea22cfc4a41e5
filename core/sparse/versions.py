"""Which tokenizer each index was built with, and one encoder per such version.

A knowledge base records the tokenizer spec its chunks were encoded with (`ingest.registry`
keeps it in the metadata store) and is queried with that spec for as long as it lives, so a
new tokenizer never silently degrades an old index and never forces a re-ingest. A spec is a
version, optionally with the digest of the extra dictionary words it used:
"bm25-mixed-3" or "bm25-mixed-3+words:1a2b3c4d5e6f".
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Sequence

from core.errors import ConfigurationError
from core.sparse.encoder import Bm25Encoder, SparseVector, query_vector
from core.sparse.tokens import LegacyTokenizer, MixedTokenizer

# Bump (and keep the old one here) whenever tokens or weights change.
SPARSE_VERSION = "bm25-mixed-3"
# Before any version was recorded (registries without an index signature), stemming-free.
UNRECORDED_VERSION = "bm25-cjk-1"
VERSIONS = ("bm25-cjk-1", "bm25-cjk-2", SPARSE_VERSION)
_WORDS = "+words:"

WordsLoader = Callable[[str], list[str]]


def words_digest(words: Iterable[str]) -> str:
    """A short digest naming a sorted, de-duplicated word list."""
    joined = "\n".join(sorted(set(words)))
    return hashlib.sha256(joined.encode()).hexdigest()[:12]


def spec(version: str = SPARSE_VERSION, words: Sequence[str] = ()) -> str:
    """The spec of `version` with `words` as extra dictionary words."""
    return f"{version}{_WORDS}{words_digest(words)}" if words else version


def parse_spec(value: str) -> tuple[str, str | None]:
    """(version, words digest or None); a clear error for a version this code cannot build."""
    version, _, digest = value.partition(_WORDS)
    if version not in VERSIONS:
        raise ConfigurationError(
            f"this index was built with BM25 tokenizer {version!r}, which this release does not "
            f"know (it knows {', '.join(VERSIONS)}): upgrade, or ingest it again"
        )
    return version, digest or None


class SparseEncoders:
    """One BM25 encoder per tokenizer spec, built on first use (jieba loads once per spec).

    `load_words` fetches the dictionary words a spec's digest names from where they are kept.
    """

    def __init__(self, load_words: WordsLoader | None = None) -> None:
        self._load_words = load_words
        self._encoders: dict[str, Bm25Encoder] = {}
        self._lock = threading.Lock()

    def encoder(self, value: str = SPARSE_VERSION) -> Bm25Encoder:
        found = self._encoders.get(value)
        if found is not None:
            return found
        version, digest = parse_spec(value)
        words: list[str] = []
        if digest is not None:
            if self._load_words is None:
                raise ConfigurationError(f"no dictionary store to read the words of {value!r}")
            words = self._load_words(digest)
        if version == SPARSE_VERSION:
            built = Bm25Encoder(MixedTokenizer(words))
        else:
            built = Bm25Encoder(LegacyTokenizer(stem=version != "bm25-cjk-1"))
        with self._lock:
            return self._encoders.setdefault(value, built)

    def query(self, text: str, specs: Iterable[str]) -> SparseVector:
        """One query vector for indexes built with `specs`: the union of their tokens.

        With one spec (one knowledge base, or several built alike) this is exactly that
        tokenizer's query. Across specs, each index only holds its own tokens, so the
        others' extra tokens find nothing there; shared tokens count once.
        """
        tokens: list[str] = []
        for value in sorted(set(specs)) or [SPARSE_VERSION]:
            tokens.extend(self.encoder(value).tokens(text))
        return query_vector(tokens)

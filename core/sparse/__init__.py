"""BM25 sparse vectors: mixed Chinese-English tokenizers, versioned per index."""

from core.sparse.encoder import Bm25Encoder, SparseVector, query_vector, token_index
from core.sparse.tokens import LegacyTokenizer, MixedTokenizer, Tokenizer
from core.sparse.versions import (
    SPARSE_VERSION,
    UNRECORDED_VERSION,
    VERSIONS,
    SparseEncoders,
    parse_spec,
    spec,
    words_digest,
)

__all__ = [
    "SPARSE_VERSION",
    "UNRECORDED_VERSION",
    "VERSIONS",
    "Bm25Encoder",
    "LegacyTokenizer",
    "MixedTokenizer",
    "SparseEncoders",
    "SparseVector",
    "Tokenizer",
    "parse_spec",
    "query_vector",
    "spec",
    "token_index",
    "words_digest",
]

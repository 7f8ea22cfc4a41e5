"""The chunk store: one protocol, Qdrant Edge (embedded) and qdrant-client (server) behind it."""

from core.store.base import (
    ChunkPoint,
    ScoredChunk,
    StoredChunk,
    VectorQuery,
    VectorStore,
    Visibility,
    Where,
)
from core.store.factory import open_store

__all__ = [
    "ChunkPoint",
    "ScoredChunk",
    "StoredChunk",
    "VectorQuery",
    "VectorStore",
    "Visibility",
    "Where",
    "open_store",
]

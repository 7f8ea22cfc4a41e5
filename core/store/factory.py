"""Pick the store backend from settings: a Qdrant URL means the server, else Qdrant Edge."""

from __future__ import annotations

from pathlib import Path

from core.settings import StoreSettings
from core.store.base import VectorStore
from core.store.edge import EdgeStore
from core.store.qdrant import QdrantClientStore


def open_store(settings: StoreSettings, data_dir: Path) -> VectorStore:
    """Qdrant Edge under `data_dir/qdrant-edge` unless `qdrant_url` names a server.

    `qdrant_url` may also be ':memory:' or a folder path for qdrant-client local mode (tests).
    """
    if settings.qdrant_url:
        key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        return QdrantClientStore(
            settings.qdrant_url,
            settings.collection,
            api_key=key,
            shard_number=settings.shard_number,
            replication_factor=settings.replication_factor,
            write_consistency_factor=settings.write_consistency_factor,
        )
    return EdgeStore(data_dir / "qdrant-edge")

"""Edge results as Qdrant's REST results (`Record`, `ScoredPoint`, `CollectionInfo`)."""

from __future__ import annotations

import uuid
from typing import Any

import qdrant_edge as qe
from qdrant_client.http import models as m

from tests.support.qdrant_standin.collections import Collection
from tests.support.qdrant_standin.indexes import rest_index_info

# What a single Qdrant node reports when the create request left these unset (Qdrant's
# `config/config.yaml` defaults); Edge does not expose its own, and they change no result.
_HNSW = m.HnswConfig(m=16, ef_construct=100, full_scan_threshold=10_000)
_OPTIMIZERS = m.OptimizersConfig(default_segment_number=0, flush_interval_sec=5)
_WAL = m.WalConfig(wal_capacity_mb=32, wal_segments_ahead=0)


def point_id(value: int | uuid.UUID | str) -> int | str:
    return value if isinstance(value, int) else str(value)


def _vectors(value: Any) -> Any:
    if isinstance(value, dict):
        return {name: _vectors(v) for name, v in value.items()}
    if isinstance(value, qe.SparseVector):
        return {"indices": list(value.indices), "values": list(value.values)}
    return value


def record(r: Any) -> dict[str, Any]:
    return {"id": point_id(r.id), "payload": r.payload, "vector": _vectors(r.vector)}


def scored(p: Any) -> dict[str, Any]:
    return {
        "id": point_id(p.id),
        "version": p.version,
        "score": p.score,
        "payload": p.payload,
        "vector": _vectors(p.vector),
    }


def collection_info(collection: Collection, info: Any) -> dict[str, Any]:
    """`GET /collections/{name}`: settings as created, counts and payload indexes from Edge."""
    created = collection.config
    params = m.CollectionParams(
        vectors=created.vectors,
        sparse_vectors=created.sparse_vectors,
        shard_number=created.shard_number or 1,
        replication_factor=created.replication_factor or 1,
        write_consistency_factor=created.write_consistency_factor or 1,
        on_disk_payload=created.on_disk_payload if created.on_disk_payload is not None else True,
    )
    config = m.CollectionConfig(
        params=params,
        hnsw_config=_HNSW.model_copy(update=_diff(created.hnsw_config)),
        optimizer_config=_OPTIMIZERS.model_copy(update=_diff(created.optimizers_config)),
        wal_config=_WAL.model_copy(update=_diff(created.wal_config)),
        metadata=created.metadata,
    )
    result = m.CollectionInfo(
        status=m.CollectionStatus.GREEN,
        optimizer_status=m.OptimizersStatusOneOf.OK,
        points_count=info.points_count,
        indexed_vectors_count=info.indexed_vectors_count,
        segments_count=info.segments_count,
        config=config,
        payload_schema={k: rest_index_info(v) for k, v in info.payload_schema.items()},
    )
    return result.model_dump(mode="json", exclude_none=True)


def _diff(value: Any) -> dict[str, Any]:
    return {} if value is None else dict(value.model_dump(exclude_none=True))

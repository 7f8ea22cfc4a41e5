"""Point writes: `PUT .../points` bodies and `POST .../points/delete` selectors, as Edge updates."""

from __future__ import annotations

from typing import Any

import qdrant_edge as qe
from qdrant_client.http import models as m

from tests.support.qdrant_standin.convert import filter_, point_id
from tests.support.qdrant_standin.errors import unsupported

_MODES = {
    m.UpdateMode.UPSERT: qe.UpdateMode.Upsert,
    m.UpdateMode.INSERT_ONLY: qe.UpdateMode.InsertOnly,
    m.UpdateMode.UPDATE_ONLY: qe.UpdateMode.UpdateOnly,
}


def upsert(body: m.PointsList | m.PointsBatch) -> qe.UpdateOperation:
    if body.shard_key is not None:
        raise unsupported("shard_key (custom sharding)")
    if isinstance(body, m.PointsList):
        points = [qe.Point(point_id(p.id), _vector(p.vector), p.payload) for p in body.points]
    else:
        points = _batch(body.batch)
    mode = None if body.update_mode is None else _MODES[body.update_mode]
    return qe.UpdateOperation.upsert_points(
        points, condition=filter_(body.update_filter), update_mode=mode
    )


def delete(body: m.PointIdsList | m.FilterSelector) -> qe.UpdateOperation:
    if body.shard_key is not None:
        raise unsupported("shard_key (custom sharding)")
    if isinstance(body, m.PointIdsList):
        return qe.UpdateOperation.delete_points([point_id(i) for i in body.points])
    return qe.UpdateOperation.delete_points_by_filter(filter_(body.filter) or qe.Filter())


def _vector(value: Any) -> Any:
    """A point's vectors: one unnamed dense vector, or named dense, sparse or multi vectors."""
    if isinstance(value, dict):
        return {name: _one(v) for name, v in value.items()}
    return _one(value)


def _one(value: Any) -> Any:
    if isinstance(value, m.SparseVector):
        return qe.SparseVector(value.indices, value.values)
    if isinstance(value, list):
        return value
    raise unsupported(f"{type(value).__name__} vectors (server-side inference)")


def _batch(batch: m.Batch) -> list[qe.Point]:
    ids = [point_id(i) for i in batch.ids]
    if isinstance(batch.vectors, dict):
        per_point: list[Any] = [
            {name: _one(vectors[i]) for name, vectors in batch.vectors.items()}
            for i in range(len(ids))
        ]
    else:
        per_point = [_one(v) for v in batch.vectors]
    payloads: list[Any] = [None] * len(ids) if batch.payloads is None else batch.payloads
    return [qe.Point(i, v, p) for i, v, p in zip(ids, per_point, payloads, strict=True)]

"""Qdrant Edge: the Qdrant engine in-process, on disk in the data folder (embedded default)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import qdrant_edge as qe

from core.errors import UpstreamError
from core.store.base import (
    DENSE,
    SPARSE,
    ChunkPoint,
    StoredChunk,
    Where,
    require_selective,
)


def _filter(where: Where) -> qe.Filter | None:
    must: list[Any] = []
    if where.kbs is not None:
        must.append(qe.FieldCondition("kb", match=qe.MatchAny(list(where.kbs))))
    if where.doc_id is not None:
        must.append(qe.FieldCondition("doc_id", match=qe.MatchValue(where.doc_id)))
    if where.generation is not None:
        must.append(qe.FieldCondition("generation", match=qe.MatchValue(where.generation)))
    must_not: list[Any] = []
    if where.hidden_generations:
        hidden = sorted(where.hidden_generations)
        must_not.append(qe.FieldCondition("generation", match=qe.MatchAny(hidden)))
    if not must and not must_not:
        return None
    return qe.Filter(must=must or None, must_not=must_not or None)


class EdgeStore:
    """One EdgeShard in `path`; Edge locks the folder so only one process can open it."""

    name = "qdrant-edge"

    def __init__(self, path: Path) -> None:
        self._path = path
        self._shard: Any = None

    def _open(self, dimension: int) -> Any:
        config = qe.EdgeConfig(
            vectors={DENSE: qe.EdgeVectorParams(size=dimension, distance=qe.Distance.Cosine)},
            sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
        )
        if (self._path / "edge_config.json").exists() or any(self._path.glob("segments*")):
            return qe.EdgeShard.load(str(self._path), config)
        self._path.mkdir(parents=True, exist_ok=True)
        shard = qe.EdgeShard.create(str(self._path), config)
        shard.update(
            qe.UpdateOperation.create_field_index("kb", qe.KeywordIndexParams(is_tenant=True))
        )
        for name in ("doc_id", "generation"):
            shard.update(qe.UpdateOperation.create_field_index(name, qe.PayloadSchemaType.Keyword))
        return shard

    @property
    def shard(self) -> Any:
        if self._shard is None:
            raise RuntimeError("EdgeStore.ensure() was not called")
        return self._shard

    async def ensure(self, dimension: int) -> None:
        if self._shard is None:
            try:
                self._shard = await asyncio.to_thread(self._open, dimension)
            except Exception as exc:  # Edge raises bare Exception for every failure
                raise UpstreamError(
                    f"cannot open Qdrant Edge store at {self._path}: {exc}"
                ) from exc

    async def upsert(self, points: Sequence[ChunkPoint]) -> None:
        edge_points = [
            qe.Point(
                p.id,
                {DENSE: p.dense, SPARSE: qe.SparseVector(p.sparse.indices, p.sparse.values)},
                p.payload,
            )
            for p in points
        ]
        await asyncio.to_thread(self.shard.update, qe.UpdateOperation.upsert_points(edge_points))

    async def delete(self, where: Where) -> None:
        require_selective(where)
        operation = qe.UpdateOperation.delete_points_by_filter(_filter(where) or qe.Filter())
        await asyncio.to_thread(self.shard.update, operation)

    async def count(self, where: Where) -> int:
        request = qe.CountRequest(exact=True, filter=_filter(where))
        return int(await asyncio.to_thread(self.shard.count, request))

    async def scroll(self, where: Where, *, limit: int = 10_000) -> list[StoredChunk]:
        out: list[StoredChunk] = []
        offset: Any = None
        while len(out) < limit:
            request = qe.ScrollRequest(
                offset=offset,
                limit=min(1_000, limit - len(out)),
                filter=_filter(where),
                with_payload=True,
            )
            records, offset = await asyncio.to_thread(self.shard.scroll, request)
            out.extend(StoredChunk(str(r.id), dict(r.payload or {})) for r in records)
            if offset is None:
                break
        return out

    async def close(self) -> None:
        if self._shard is not None:
            shard, self._shard = self._shard, None
            await asyncio.to_thread(shard.flush)
            await asyncio.to_thread(shard.close)

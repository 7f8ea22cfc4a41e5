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
    SEQ,
    SPARSE,
    ChunkPoint,
    ScoredChunk,
    StoredChunk,
    VectorQuery,
    Where,
    require_selective,
    usable_sparse,
)


def _filter(where: Where) -> qe.Filter | None:
    must: list[Any] = []
    if where.kbs is not None:
        must.append(qe.FieldCondition("kb", match=qe.MatchAny(list(where.kbs))))
    if where.doc_id is not None:
        must.append(qe.FieldCondition("doc_id", match=qe.MatchValue(where.doc_id)))
    if where.generation is not None:
        must.append(qe.FieldCondition("generation", match=qe.MatchValue(where.generation)))
    if where.chunk_range is not None:
        low, high = where.chunk_range
        must.append(qe.FieldCondition("chunk_index", range=qe.RangeFloat(gte=low, lte=high)))
    must_not: list[Any] = []
    if where.hidden_generations:
        hidden = sorted(where.hidden_generations)
        must_not.append(qe.FieldCondition("generation", match=qe.MatchAny(hidden)))
    if where.max_seq is not None:
        # Chunks without `seq` (written before it existed) never match, so stay visible.
        must_not.append(qe.FieldCondition(SEQ, range=qe.RangeFloat(gt=where.max_seq)))
    if not must and not must_not:
        return None
    return qe.Filter(must=must or None, must_not=must_not or None)


def _query_request(query: VectorQuery) -> qe.QueryRequest | None:
    where = _filter(query.where)
    searches: list[tuple[Any, float]] = []
    if query.dense is not None:
        searches.append((qe.Query.Nearest(query.dense, using=DENSE), query.dense_weight))
    if (sparse := usable_sparse(query)) is not None:
        vector = qe.SparseVector(sparse.indices, sparse.values)
        searches.append((qe.Query.Nearest(vector, using=SPARSE), query.sparse_weight))
    if not searches:
        return None
    if len(searches) == 1:
        return qe.QueryRequest(
            limit=query.limit, query=searches[0][0], filter=where, with_payload=True
        )
    prefetches = [
        qe.Prefetch(limit=query.prefetch_limit, query=search, filter=where)
        for search, _ in searches
    ]
    fusion: Any = qe.Fusion.Rrf(k=query.rrf_k, weights=[weight for _, weight in searches])
    return qe.QueryRequest(
        limit=query.limit, query=fusion, prefetches=prefetches, filter=where, with_payload=True
    )


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
            shard = qe.EdgeShard.load(str(self._path), config)
        else:
            self._path.mkdir(parents=True, exist_ok=True)
            shard = qe.EdgeShard.create(str(self._path), config)
            shard.update(
                qe.UpdateOperation.create_field_index("kb", qe.KeywordIndexParams(is_tenant=True))
            )
            for name in ("doc_id", "generation"):
                index = qe.UpdateOperation.create_field_index(name, qe.PayloadSchemaType.Keyword)
                shard.update(index)
        # Idempotent, so that shards made before `seq` existed get its index too.
        shard.update(qe.UpdateOperation.create_field_index(SEQ, qe.PayloadSchemaType.Integer))
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

    async def query(self, query: VectorQuery) -> list[ScoredChunk]:
        request = _query_request(query)
        if request is None:
            return []
        points = await asyncio.to_thread(self.shard.query, request)
        return [ScoredChunk(str(p.id), float(p.score), dict(p.payload or {})) for p in points]

    async def optimize(self) -> None:
        # Edge searches new points by brute force until optimize() builds their HNSW graph.
        await asyncio.to_thread(self.shard.optimize)

    async def close(self) -> None:
        if self._shard is not None:
            shard, self._shard = self._shard, None
            await asyncio.to_thread(shard.flush)
            await asyncio.to_thread(shard.close)

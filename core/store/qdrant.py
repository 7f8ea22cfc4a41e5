"""qdrant-client: a Qdrant server by URL (compose, clusters), or local mode in tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qdrant_client import AsyncQdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

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


def _filter(where: Where) -> models.Filter | None:
    must: list[models.Condition] = []
    if where.kbs is not None:
        must.append(models.FieldCondition(key="kb", match=models.MatchAny(any=list(where.kbs))))
    for key, value in (("doc_id", where.doc_id), ("generation", where.generation)):
        if value is not None:
            must.append(models.FieldCondition(key=key, match=models.MatchValue(value=value)))
    if where.chunk_range is not None:
        low, high = where.chunk_range
        must.append(models.FieldCondition(key="chunk_index", range=models.Range(gte=low, lte=high)))
    must_not: list[models.Condition] = []
    if where.hidden_generations:
        hidden = sorted(where.hidden_generations)
        must_not.append(models.FieldCondition(key="generation", match=models.MatchAny(any=hidden)))
    if where.max_seq is not None:
        # Chunks without `seq` (written before it existed) never match, so stay visible.
        must_not.append(models.FieldCondition(key=SEQ, range=models.Range(gt=where.max_seq)))
    if not must and not must_not:
        return None
    return models.Filter(must=must or None, must_not=must_not or None)


# `kb` is a tenant index: Qdrant keeps each knowledge base's points together on disk.
# `chunk_index` is only ever filtered by range (a hit's neighbours), never matched exactly.
_INDEXES: dict[str, models.PayloadSchemaType | models.PayloadSchemaParams] = {
    "kb": models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, is_tenant=True),
    "doc_id": models.PayloadSchemaType.KEYWORD,
    "generation": models.PayloadSchemaType.KEYWORD,
    "chunk_index": models.IntegerIndexParams(
        type=models.IntegerIndexType.INTEGER, lookup=False, range=True
    ),
    # The registry clock of a chunk's staging: queries exclude `seq` above their snapshot's.
    SEQ: models.IntegerIndexParams(type=models.IntegerIndexType.INTEGER, lookup=False, range=True),
}


class QdrantClientStore:
    """One collection on a Qdrant server (or in qdrant-client local mode: ':memory:', a path).

    `shard_number`, `replication_factor` and `write_consistency_factor` apply when `ensure`
    creates the collection (a Qdrant cluster spreads and copies shards by them).
    """

    name = "qdrant"

    def __init__(
        self,
        location: str,
        collection: str,
        api_key: str | None = None,
        *,
        shard_number: int = 1,
        replication_factor: int = 1,
        write_consistency_factor: int = 1,
    ) -> None:
        self.collection = collection
        self._shard_number = shard_number
        self._replication_factor = replication_factor
        self._write_consistency_factor = write_consistency_factor
        self._server = location.startswith(("http://", "https://"))
        if self._server:
            self._client = AsyncQdrantClient(url=location, api_key=api_key)
        else:
            self._client = (
                AsyncQdrantClient(location=location)
                if location == ":memory:"
                else (AsyncQdrantClient(path=location))
            )

    async def ensure(self, dimension: int) -> None:
        """Create the collection and its payload indexes where missing.

        Safe when several processes (API replicas, ingest workers) start at once: a collection
        another one created first is used as it is, and each missing index is created.
        """
        try:
            if not await self._client.collection_exists(self.collection):
                await self._create(dimension)
            if self._server:  # local mode has no payload indexes (it says so with a warning)
                await self._create_indexes()
        except (UnexpectedResponse, ResponseHandlingException) as exc:
            raise UpstreamError(
                f"Qdrant: cannot prepare collection {self.collection}: {exc}"
            ) from exc

    async def _create(self, dimension: int) -> None:
        try:
            await self._client.create_collection(
                self.collection,
                vectors_config={
                    DENSE: models.VectorParams(size=dimension, distance=models.Distance.COSINE)
                },
                sparse_vectors_config={
                    SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)
                },
                shard_number=self._shard_number,
                replication_factor=self._replication_factor,
                write_consistency_factor=self._write_consistency_factor,
            )
        except UnexpectedResponse as exc:
            if exc.status_code != 409:  # 409: another process created it since we looked
                raise

    async def _create_indexes(self) -> None:
        existing = (await self._client.get_collection(self.collection)).payload_schema
        for field_name, schema in _INDEXES.items():
            if field_name not in existing:
                await self._client.create_payload_index(self.collection, field_name, schema)

    async def upsert(self, points: Sequence[ChunkPoint]) -> None:
        structs = [
            models.PointStruct(
                id=p.id,
                vector={
                    DENSE: p.dense,
                    SPARSE: models.SparseVector(indices=p.sparse.indices, values=p.sparse.values),
                },
                payload=p.payload,
            )
            for p in points
        ]
        await self._call(self._client.upsert(self.collection, structs, wait=True))

    async def delete(self, where: Where) -> None:
        require_selective(where)
        selector = models.FilterSelector(filter=_filter(where) or models.Filter())
        await self._call(self._client.delete(self.collection, selector, wait=True))

    async def count(self, where: Where) -> int:
        result = await self._call(
            self._client.count(self.collection, count_filter=_filter(where), exact=True)
        )
        return int(result.count)

    async def scroll(self, where: Where, *, limit: int = 10_000) -> list[StoredChunk]:
        out: list[StoredChunk] = []
        offset: Any = None
        while len(out) < limit:
            records, offset = await self._call(
                self._client.scroll(
                    self.collection,
                    scroll_filter=_filter(where),
                    limit=min(1_000, limit - len(out)),
                    offset=offset,
                    with_payload=True,
                )
            )
            out.extend(StoredChunk(str(r.id), dict(r.payload or {})) for r in records)
            if offset is None:
                break
        return out

    async def query(self, query: VectorQuery) -> list[ScoredChunk]:
        where = _filter(query.where)
        searches: list[tuple[Any, str, float]] = []
        if query.dense is not None:
            searches.append((query.dense, DENSE, query.dense_weight))
        if (sparse := usable_sparse(query)) is not None:
            vector = models.SparseVector(indices=sparse.indices, values=sparse.values)
            searches.append((vector, SPARSE, query.sparse_weight))
        if not searches:
            return []
        if len(searches) == 1:
            vector, using, _ = searches[0]
            request = self._client.query_points(
                self.collection, query=vector, using=using, query_filter=where,
                limit=query.limit, with_payload=True,
            )  # fmt: skip
        else:
            prefetch = [
                models.Prefetch(query=v, using=u, limit=query.prefetch_limit, filter=where)
                for v, u, _ in searches
            ]
            fusion = models.Rrf(k=query.rrf_k, weights=[w for _, _, w in searches])
            request = self._client.query_points(
                self.collection, prefetch=prefetch, query=models.RrfQuery(rrf=fusion),
                query_filter=where, limit=query.limit, with_payload=True,
            )  # fmt: skip
        result = await self._call(request)
        return [
            ScoredChunk(str(p.id), float(p.score), dict(p.payload or {})) for p in result.points
        ]

    async def optimize(self) -> None:
        """A Qdrant server optimizes on its own; local mode has no indexes to build."""

    async def close(self) -> None:
        await self._client.close()

    async def _call(self, awaitable: Any) -> Any:
        try:
            return await awaitable
        except (UnexpectedResponse, ResponseHandlingException) as exc:
            raise UpstreamError(f"Qdrant request failed: {exc}") from exc

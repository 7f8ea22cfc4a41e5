"""One contract, run against every store backend.

Qdrant Edge; qdrant-client in local mode; qdrant-client against the loopback Qdrant server
stand-in (REST, one process for the session); and against a real Qdrant server when
`QDRANT_URL` is set (marker `integration`).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from core.sparse import SparseVector
from core.store import ChunkPoint, VectorQuery, VectorStore, Where
from core.store.edge import EdgeStore
from core.store.qdrant import QdrantClientStore
from tests.support.env import QDRANT_URL

DIM = 8
NO_SERVER = "QDRANT_URL is not set: no real Qdrant server"
BACKENDS = [
    "edge",
    "local",
    "standin",
    pytest.param(
        "server",
        marks=[pytest.mark.integration, pytest.mark.skipif(not QDRANT_URL, reason=NO_SERVER)],
    ),
]


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[VectorStore]:
    collection = f"test_{uuid.uuid4().hex[:8]}"
    url = None
    if request.param == "edge":
        backend: VectorStore = EdgeStore(tmp_path / "edge")
    elif request.param == "local":
        backend = QdrantClientStore(":memory:", collection)
    else:
        url = (
            QDRANT_URL
            if request.param == "server"
            else request.getfixturevalue("qdrant_standin").url
        )
        assert url is not None
        backend = QdrantClientStore(url, collection)
    await backend.ensure(DIM)
    yield backend
    await backend.close()
    if url is not None:  # servers outlive the test: leave nothing behind
        async with httpx.AsyncClient() as client:
            (await client.delete(f"{url}/collections/{collection}")).raise_for_status()


def point(kb: str, doc: str, generation: str, n: int) -> ChunkPoint:
    dense = [float((n + i) % 5 + 1) for i in range(DIM)]
    return ChunkPoint(
        id=str(uuid.uuid4()),
        dense=dense,
        sparse=SparseVector([n + 1, 1000 + n], [1.0, 0.5]),
        payload={
            "kb": kb,
            "doc_id": doc,
            "generation": generation,
            "n": n,
            "chunk_index": n,
            "text": f"chunk {n}",
        },
    )


class TestStoreContract:
    """Every VectorStore implementation must pass these."""

    async def test_ensure_is_idempotent(self, store: VectorStore):
        await store.ensure(DIM)
        assert await store.count(Where()) == 0

    async def test_upsert_is_visible_and_filters_select(self, store: VectorStore):
        await store.upsert([point("a", "d1", "g1", n) for n in range(5)])
        await store.upsert([point("b", "d2", "g2", n) for n in range(3)])
        assert await store.count(Where()) == 8
        assert await store.count(Where(kbs=("a",))) == 5
        assert await store.count(Where(kbs=("a", "b"))) == 8
        assert await store.count(Where(doc_id="d2")) == 3
        assert await store.count(Where(generation="g1")) == 5
        assert await store.count(Where(kbs=("a", "b"), hidden_generations=frozenset({"g1"}))) == 3

    async def test_delete_removes_exactly_the_match(self, store: VectorStore):
        await store.upsert([point("a", "d1", "g1", n) for n in range(4)])
        await store.upsert([point("a", "d1", "g2", n) for n in range(6)])
        await store.delete(Where(generation="g1"))
        chunks = await store.scroll(Where(kbs=("a",)))
        assert {c.payload["generation"] for c in chunks} == {"g2"}
        assert len(chunks) == 6

    async def test_delete_refuses_empty_filter(self, store: VectorStore):
        await store.upsert([point("a", "d1", "g1", 0)])
        with pytest.raises(ValueError, match="empty filter"):
            await store.delete(Where())
        assert await store.count(Where()) == 1

    async def test_scroll_pages_through_everything(self, store: VectorStore):
        await store.upsert([point("a", "d1", "g1", n) for n in range(2_500)])
        chunks = await store.scroll(Where(doc_id="d1"))
        assert len(chunks) == 2_500
        assert len({c.id for c in chunks}) == 2_500
        assert sorted(c.payload["n"] for c in chunks) == list(range(2_500))

    async def test_payload_round_trips(self, store: VectorStore):
        original = point("a", "d1", "g1", 7)
        await store.upsert([original])
        [chunk] = await store.scroll(Where(kbs=("a",)))
        assert chunk.id == original.id
        assert chunk.payload == original.payload

    async def _three(self, store: VectorStore) -> None:
        # "d" is nearest by the dense vector, "s" has the only matching sparse token, "x" neither.
        await store.upsert([
            ChunkPoint("00000000-0000-0000-0000-00000000000d", axis(0), SparseVector([7], [1.0]),
                       {"kb": "a", "doc_id": "d", "generation": "g", "chunk_index": 0}),
            ChunkPoint("00000000-0000-0000-0000-00000000000e", axis(1), SparseVector([42], [2.0]),
                       {"kb": "a", "doc_id": "s", "generation": "g", "chunk_index": 1}),
            ChunkPoint("00000000-0000-0000-0000-00000000000f", axis(2), SparseVector([9], [1.0]),
                       {"kb": "b", "doc_id": "x", "generation": "h", "chunk_index": 2}),
        ])  # fmt: skip

    async def test_dense_and_sparse_queries_find_their_nearest(self, store: VectorStore):
        await self._three(store)
        [dense] = await store.query(VectorQuery(Where(), limit=1, dense=axis(0)))
        assert dense.payload["doc_id"] == "d"
        sparse_hits = await store.query(
            VectorQuery(Where(), limit=3, sparse=SparseVector([42], [1.0]))
        )
        assert [h.payload["doc_id"] for h in sparse_hits] == ["s"]

    async def test_hybrid_fuses_both_and_weights_decide(self, store: VectorStore):
        await self._three(store)
        # k=1 makes rank 1 count far more than rank 2, so the weights decide the winner.
        query = VectorQuery(
            Where(kbs=("a",)), limit=5, dense=axis(0), sparse=SparseVector([42], [1.0]), rrf_k=1
        )
        hits = await store.query(query)
        assert {h.payload["doc_id"] for h in hits} == {"d", "s"}  # kb "b" filtered out
        favour_sparse = VectorQuery(**{**query.__dict__, "dense_weight": 0.1, "sparse_weight": 1.0})
        favour_dense = VectorQuery(**{**query.__dict__, "dense_weight": 1.0, "sparse_weight": 0.1})
        assert (await store.query(favour_sparse))[0].payload["doc_id"] == "s"
        assert (await store.query(favour_dense))[0].payload["doc_id"] == "d"

    async def test_queries_skip_hidden_generations(self, store: VectorStore):
        await self._three(store)
        where = Where(hidden_generations=frozenset({"g"}))
        hits = await store.query(VectorQuery(where, limit=5, dense=axis(0)))
        assert [h.payload["doc_id"] for h in hits] == ["x"]

    async def test_an_empty_sparse_vector_falls_back_to_dense(self, store: VectorStore):
        await self._three(store)
        query = VectorQuery(Where(), limit=1, dense=axis(0), sparse=SparseVector([], []))
        assert (await store.query(query))[0].payload["doc_id"] == "d"
        assert await store.query(VectorQuery(Where(), limit=1, sparse=SparseVector([], []))) == []

    async def test_optimize_keeps_every_point_findable(self, store: VectorStore):
        await _optimize_keeps_results(store)

    async def test_chunk_range_selects_neighbours(self, store: VectorStore):
        await store.upsert([point("a", "d1", "g1", n) for n in range(10)])
        chunks = await store.scroll(Where(doc_id="d1", chunk_range=(3, 5)))
        assert sorted(c.payload["chunk_index"] for c in chunks) == [3, 4, 5]


def axis(i: int) -> list[float]:
    return [1.0 if j == i else 0.01 for j in range(DIM)]


async def test_edge_survives_reopen(tmp_path: Path):
    first = EdgeStore(tmp_path / "edge")
    await first.ensure(DIM)
    await first.upsert([point("a", "d1", "g1", n) for n in range(3)])
    await first.close()
    second = EdgeStore(tmp_path / "edge")
    await second.ensure(DIM)
    assert await second.count(Where(kbs=("a",))) == 3
    await second.close()


async def _optimize_keeps_results(store: VectorStore) -> None:
    await store.upsert([point("a", "d1", "g1", n) for n in range(300)])
    before = await store.query(VectorQuery(Where(), limit=5, dense=axis(3)))
    await store.optimize()
    after = await store.query(VectorQuery(Where(), limit=5, dense=axis(3)))
    assert [h.id for h in after] == [h.id for h in before]
    assert await store.count(Where()) == 300

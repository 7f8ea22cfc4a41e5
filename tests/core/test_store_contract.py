"""One contract, run against Qdrant Edge and qdrant-client (local mode; a server by QDRANT_URL)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.sparse import SparseVector
from core.store import ChunkPoint, VectorStore, Where
from core.store.edge import EdgeStore
from core.store.qdrant import QdrantClientStore
from tests.support.env import QDRANT_URL

DIM = 8


def point(kb: str, doc: str, generation: str, n: int) -> ChunkPoint:
    dense = [float((n + i) % 5 + 1) for i in range(DIM)]
    return ChunkPoint(
        id=str(uuid.uuid4()),
        dense=dense,
        sparse=SparseVector([n + 1, 1000 + n], [1.0, 0.5]),
        payload={"kb": kb, "doc_id": doc, "generation": generation, "n": n, "text": f"chunk {n}"},
    )


class StoreContract:
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


class TestEdgeStore(StoreContract):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[VectorStore]:
        store = EdgeStore(tmp_path / "edge")
        await store.ensure(DIM)
        yield store
        await store.close()

    async def test_survives_reopen(self, tmp_path: Path):
        first = EdgeStore(tmp_path / "edge")
        await first.ensure(DIM)
        await first.upsert([point("a", "d1", "g1", n) for n in range(3)])
        await first.close()
        second = EdgeStore(tmp_path / "edge")
        await second.ensure(DIM)
        assert await second.count(Where(kbs=("a",))) == 3
        await second.close()


class TestQdrantLocalMode(StoreContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[VectorStore]:
        store = QdrantClientStore(":memory:", f"test_{uuid.uuid4().hex[:8]}")
        await store.ensure(DIM)
        yield store
        await store.close()


@pytest.mark.integration
@pytest.mark.skipif(not QDRANT_URL, reason="QDRANT_URL is not set: no real Qdrant server")
class TestQdrantServer(StoreContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[VectorStore]:
        assert QDRANT_URL is not None
        store = QdrantClientStore(QDRANT_URL, f"test_{uuid.uuid4().hex[:8]}")
        await store.ensure(DIM)
        yield store
        await store.close()

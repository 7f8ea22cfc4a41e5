"""QdrantClientStore against a Qdrant server: the protocol details our code relies on.

Run against the loopback stand-in (tests/support/qdrant_standin): errors, cluster settings,
payload indexes, restarts and several client processes at once.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from qdrant_client import AsyncQdrantClient, models

from core.errors import UpstreamError
from core.settings import StoreSettings
from core.sparse import SparseVector
from core.store import ChunkPoint, VectorQuery, Where, open_store
from core.store.qdrant import QdrantClientStore
from ingest.settings import IngestSettings
from tests.support.qdrant_standin import QdrantStandinProcess, create_qdrant_standin
from tests.support.qdrant_standin.process import REPO_ROOT, settle_version_checks
from tests.support.server import serve

DIM = 8


def chunks(kb: str, generation: str, count: int) -> list[ChunkPoint]:
    return [
        ChunkPoint(
            str(uuid.uuid4()),
            [float((n + i) % 7 + 1) for i in range(DIM)],
            SparseVector([n + 1], [1.0]),
            {"kb": kb, "doc_id": f"{kb}-doc", "generation": generation, "chunk_index": n},
        )
        for n in range(count)
    ]


def collection_name() -> str:
    return f"test_{uuid.uuid4().hex[:8]}"


async def test_root_answers_the_clients_own_version(qdrant_standin: QdrantStandinProcess):
    async with httpx.AsyncClient() as client:
        root = (await client.get(qdrant_standin.url + "/")).json()
    assert root["version"] == importlib.metadata.version("qdrant-client")


async def test_a_missing_collection_is_404_and_an_upstream_error(
    qdrant_standin: QdrantStandinProcess,
):
    async with httpx.AsyncClient() as client:
        answer = await client.get(f"{qdrant_standin.url}/collections/never_made")
    assert answer.status_code == 404
    assert answer.json()["status"] == {"error": "Not found: Collection `never_made` doesn't exist!"}
    store = QdrantClientStore(qdrant_standin.url, "never_made")
    with pytest.raises(UpstreamError, match="404"):
        await store.count(Where(kbs=("a",)))
    with pytest.raises(UpstreamError, match="404"):
        await store.upsert(chunks("a", "g", 1))
    await store.close()


async def test_bad_requests_get_qdrants_400(qdrant_standin: QdrantStandinProcess):
    store = QdrantClientStore(qdrant_standin.url, collection_name())
    await store.ensure(DIM)
    wrong_size = ChunkPoint(str(uuid.uuid4()), [1.0, 2.0], SparseVector([1], [1.0]), {"kb": "a"})
    with pytest.raises(UpstreamError, match="Vector dimension error"):
        await store.upsert([wrong_size])
    points = f"{qdrant_standin.url}/collections/{store.collection}/points"
    async with httpx.AsyncClient() as client:
        unparsable = await client.post(points + "/count", json={"filter": {"must": [{"key": 3}]}})
        recommend = {"query": {"recommend": {"positive": [1]}}, "using": "dense"}
        unsupported = await client.post(points + "/query", json=recommend)
    assert unparsable.status_code == 400
    assert unparsable.json()["status"]["error"].startswith("Format error in JSON body")
    assert unsupported.status_code == 400
    assert "not supported by the loopback stand-in" in unsupported.json()["status"]["error"]
    await store.close()


async def test_the_collection_records_the_cluster_settings(
    qdrant_standin: QdrantStandinProcess, tmp_path: Path
):
    settings = StoreSettings(
        qdrant_url=qdrant_standin.url,
        collection=collection_name(),
        shard_number=3,
        replication_factor=2,
        write_consistency_factor=2,
    )
    store = open_store(settings, tmp_path)
    await store.ensure(DIM)
    client = AsyncQdrantClient(url=qdrant_standin.url)
    info = await client.get_collection(settings.collection)
    params = info.config.params
    assert (params.shard_number, params.replication_factor) == (3, 2)
    assert params.write_consistency_factor == 2
    schema = info.payload_schema
    assert schema["kb"].data_type == models.PayloadSchemaType.KEYWORD
    assert isinstance(schema["kb"].params, models.KeywordIndexParams)
    assert schema["kb"].params.is_tenant is True
    assert schema["chunk_index"].data_type == models.PayloadSchemaType.INTEGER
    assert isinstance(schema["chunk_index"].params, models.IntegerIndexParams)
    assert schema["chunk_index"].params.range is True
    assert {"doc_id", "generation"} <= set(schema)
    await client.close()
    await store.close()


def test_cluster_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KB_STORE__SHARD_NUMBER", "6")
    monkeypatch.setenv("KB_STORE__REPLICATION_FACTOR", "2")
    store = IngestSettings().store
    assert (store.shard_number, store.replication_factor, store.write_consistency_factor) == (
        6,
        2,
        1,
    )
    with pytest.raises(ValidationError, match="cannot exceed replication_factor"):
        StoreSettings(replication_factor=1, write_consistency_factor=2)


async def test_ensure_from_two_stores_at_once_and_after_a_half_made_collection(
    qdrant_standin: QdrantStandinProcess,
):
    name = collection_name()
    first, second = (QdrantClientStore(qdrant_standin.url, name) for _ in range(2))
    # Both see no collection and both create it: the second create gets Qdrant's 409.
    await asyncio.gather(first.ensure(DIM), second.ensure(DIM))
    await first.upsert(chunks("a", "g", 3))
    assert await second.count(Where(kbs=("a",))) == 3
    # A process that died between creating the collection and its indexes.
    half = collection_name()
    client = AsyncQdrantClient(url=qdrant_standin.url)
    await client.create_collection(
        half,
        vectors_config={"dense": models.VectorParams(size=DIM, distance=models.Distance.COSINE)},
    )
    await QdrantClientStore(qdrant_standin.url, half).ensure(DIM)
    schema = (await client.get_collection(half)).payload_schema
    assert set(schema) == {"kb", "doc_id", "generation", "chunk_index", "seq"}
    for store in (first, second):
        await store.close()
    await client.close()


async def test_the_api_key_is_required_when_set(tmp_path: Path):
    with serve(create_qdrant_standin(tmp_path, api_key="s3cret")) as url:
        anonymous = QdrantClientStore(url, "kb_chunks")
        with pytest.raises(UpstreamError, match="401"):
            await anonymous.ensure(DIM)
        with pytest.warns(UserWarning, match="insecure connection"):
            wrong = QdrantClientStore(url, "kb_chunks", api_key="guess")
        with pytest.raises(UpstreamError, match="401"):
            await wrong.ensure(DIM)
        with pytest.warns(UserWarning, match="insecure connection"):
            keyed = QdrantClientStore(url, "kb_chunks", api_key="s3cret")
        await keyed.ensure(DIM)
        await keyed.upsert(chunks("a", "g", 2))
        assert await keyed.count(Where(kbs=("a",))) == 2
        for store in (anonymous, wrong, keyed):
            await store.close()
        await asyncio.to_thread(settle_version_checks)


async def test_data_and_settings_survive_a_restart_and_a_crash(tmp_path: Path):
    standin = QdrantStandinProcess(tmp_path / "qdrant")
    await asyncio.to_thread(standin.start)
    try:
        store = QdrantClientStore(standin.url, "kb_chunks", shard_number=2)
        await store.ensure(DIM)
        await store.upsert(chunks("a", "g1", 40))
        await asyncio.to_thread(standin.restart)  # SIGTERM: shards flushed and closed
        await store.upsert(chunks("b", "g2", 30))  # the same client, through the restart
        await asyncio.to_thread(standin.kill)  # SIGKILL: only Edge's write-ahead log is left
        await asyncio.to_thread(standin.start)
        assert await store.count(Where(kbs=("a",))) == 40
        assert await store.count(Where(kbs=("b",))) == 30
        [hit] = await store.query(VectorQuery(Where(kbs=("b",)), limit=1, dense=[1.0] * DIM))
        assert hit.payload["generation"] == "g2"
        client = AsyncQdrantClient(url=standin.url)
        info = await client.get_collection("kb_chunks")
        assert info.config.params.shard_number == 2
        assert info.payload_schema["kb"].params.is_tenant is True  # type: ignore[union-attr]
        await client.close()
        await store.close()
    finally:
        await asyncio.to_thread(standin.stop)


WRITER = """
import asyncio, sys, uuid
from core.sparse import SparseVector
from core.store import ChunkPoint, Where
from core.store.qdrant import QdrantClientStore

async def main(url, collection, kb):
    store = QdrantClientStore(url, collection)
    await store.ensure(8)
    print("ready", flush=True)
    sys.stdin.readline()  # wait for "go", so both writers write at the same time
    for generation in ("g1", "g2"):  # a document written twice, the old version then deleted
        for batch in range(10):
            await store.upsert([
                ChunkPoint(str(uuid.uuid4()), [float((n + i) % 5 + 1) for i in range(8)],
                           SparseVector([n + 1], [1.0]),
                           {"kb": kb, "doc_id": kb, "generation": generation,
                            "chunk_index": batch * 50 + n})
                for n in range(50)
            ])
    await store.delete(Where(kbs=(kb,), generation="g1"))
    await store.close()

asyncio.run(main(*sys.argv[1:]))
"""


def test_two_client_processes_write_at_once(qdrant_standin: QdrantStandinProcess):
    name = collection_name()
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, qdrant_standin.url, name, kb],
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for kb in ("left", "right")
    ]
    for writer in writers:  # both created (or found) the collection: a fresh one, at once
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready"
    for writer in writers:
        assert writer.stdin is not None
        writer.stdin.write("go\n")
        writer.stdin.flush()
    assert [writer.wait(timeout=300) for writer in writers] == [0, 0]
    for writer in writers:
        for stream in (writer.stdin, writer.stdout):
            assert stream is not None
            stream.close()
    asyncio.run(_check_two_writers(qdrant_standin.url, name))


async def _check_two_writers(url: str, name: str) -> None:
    store = QdrantClientStore(url, name)
    for kb in ("left", "right"):
        chunks_of_kb = await store.scroll(Where(kbs=(kb,)))
        assert len(chunks_of_kb) == 500
        assert {c.payload["generation"] for c in chunks_of_kb} == {"g2"}
        assert sorted(c.payload["chunk_index"] for c in chunks_of_kb) == list(range(500))
    assert await store.count(Where()) == 1000
    await store.close()

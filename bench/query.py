"""Query latency benchmark: hybrid retrieval and extractive answers at 10k and 100k chunks.

Run by hand from the repository root (minutes; nothing else should run meanwhile):

    HF_HUB_OFFLINE=1 .venv/bin/python bench/query.py [--sizes 10000 100000] [--queries 200]
        [--skip-local]

The store is filled directly with chunks of real SciFact text, their real BM25 vectors and
*random* unit dense vectors (embedding 100k chunks would take over an hour on 2 cores; random
vectors make HNSW's job harder, not easier). Queries are real SciFact questions and are
embedded for real on every request, as in production. Measured, in one run per size:
`POST /v1/retrieve` (hybrid) and a non-streaming extractive `/v1/chat/completions` over HTTP
on loopback against the app under uvicorn with Qdrant Edge, the same hybrid retrieval
in-process, and the same hybrid retrieval through qdrant-client local mode for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import httpx  # noqa: E402

from bench.ingest import configured_embedder, machine, peak_rss_mib  # noqa: E402
from core.embeddings import Embedder  # noqa: E402
from core.sparse import Bm25Encoder, SparseEncoders  # noqa: E402
from core.store import ChunkPoint, VectorStore, Visibility  # noqa: E402
from core.store.qdrant import QdrantClientStore  # noqa: E402
from ingest.settings import IngestSettings  # noqa: E402
from retrieval.hybrid import HybridRetriever  # noqa: E402
from retrieval.settings import RetrievalSettings  # noqa: E402
from serving.app import create_app  # noqa: E402
from serving.settings import ServingSettings  # noqa: E402
from tests.support.runtime import open_runtime  # noqa: E402
from tests.support.server import free_port, serve  # noqa: E402

SCIFACT = ROOT.parent / "shared" / "eval" / "beir" / "scifact"
KB = "bench"


def texts_and_queries(limit_queries: int) -> tuple[list[str], list[str]]:
    corpus = [json.loads(line) for line in (SCIFACT / "corpus.jsonl").open()]
    sentences = [s.strip() + "." for d in corpus for s in d["text"].split(". ") if len(s) > 40]
    queries = [json.loads(line)["text"] for line in (SCIFACT / "queries.jsonl").open()]
    return sentences, queries[:limit_queries]


def make_points(n: int, sentences: list[str], bm25: Bm25Encoder, dim: int) -> list[ChunkPoint]:
    rng = random.Random(7)
    points = []
    for i in range(n):
        text = " ".join(sentences[(i * 3 + j) % len(sentences)] for j in range(3))
        raw = [rng.gauss(0, 1) for _ in range(dim)]
        norm = sum(x * x for x in raw) ** 0.5
        payload = {
            "kb": KB, "doc_id": f"doc{i // 20}", "generation": "g", "source": f"doc{i // 20}.txt",
            "title": f"Document {i // 20}", "chunk_index": i % 20, "page": 1 + i % 20 // 4,
            "char_start": 0, "char_end": len(text), "heading_path": [], "text": text,
        }  # fmt: skip
        points.append(
            ChunkPoint(str(uuid.uuid4()), [x / norm for x in raw], bm25.document(text), payload)
        )
    return points


async def fill(store: VectorStore, points: list[ChunkPoint]) -> float:
    started = time.perf_counter()
    for i in range(0, len(points), 1000):
        await store.upsert(points[i : i + 1000])
    await store.optimize()
    return time.perf_counter() - started


async def timed(call: Callable[[str], Awaitable[object]], queries: list[str]) -> list[float]:
    await call(queries[0])  # warm-up
    out = []
    for query in queries:
        started = time.perf_counter()
        await call(query)
        out.append((time.perf_counter() - started) * 1000)
    return out


def summary(name: str, ms: list[float]) -> str:
    ms = sorted(ms)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"{name:<48} p50 {statistics.median(ms):8.1f} ms   p99 {p99:8.1f} ms   (n={len(ms)})"


def retriever_over(
    store: VectorStore, embedder: Embedder, names: frozenset[str]
) -> HybridRetriever:
    everything = Visibility(None, frozenset(), dict.fromkeys(names, 0))
    return HybridRetriever(
        store=store, embedder=embedder, sparse=SparseEncoders(), visibility=lambda: everything,
        settings=RetrievalSettings(),
    )  # fmt: skip


async def bench_size(
    n: int, embedder: Embedder, sentences: list[str], queries: list[str], *, local: bool = True
) -> None:
    print(f"\n== {n:,} chunks")
    points = make_points(n, sentences, Bm25Encoder(), embedder.dimension)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        runtime = await open_runtime(data, embedder)
        runtime.registry.create_kb(KB)
        print(f"  Qdrant Edge: upsert + optimize {await fill(runtime.store, points):.1f} s")
        inproc = retriever_over(runtime.store, embedder, frozenset({KB}))
        print("  " + summary("hybrid retrieve, in-process, Edge", await timed(
            lambda q: inproc.retrieve(q, [KB], top_k=8), queries)))  # fmt: skip
        await runtime.close()
        await bench_http(data, embedder, queries)
    if local:
        await bench_local(points, embedder, queries)
    print(f"  peak RSS so far: {peak_rss_mib():.0f} MiB")


async def bench_local(points: list[ChunkPoint], embedder: Embedder, queries: list[str]) -> None:
    local = QdrantClientStore(":memory:", "bench")
    await local.ensure(embedder.dimension)
    print(f"  qdrant-client local mode: upsert {await fill(local, points):.1f} s")
    lm = retriever_over(local, embedder, frozenset({KB}))
    few = queries[: max(10, len(queries) // 10)]  # local mode is slow: fewer queries
    print("  " + summary("hybrid retrieve, in-process, qdrant-client local", await timed(
        lambda q: lm.retrieve(q, [KB], top_k=8), few)))  # fmt: skip
    await local.close()


async def bench_http(data: Path, embedder: Embedder, queries: list[str]) -> None:
    port = free_port()
    app = create_app(ServingSettings(port=port), IngestSettings(data_dir=data), embedder=embedder)
    with serve(app, port=port) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:

            async def retrieve(q: str) -> object:
                body = {"query": q, "knowledge_bases": [KB], "top_k": 8, "mode": "hybrid"}
                return (await http.post("/v1/retrieve", json=body)).raise_for_status()

            async def answer(q: str) -> object:
                body = {"model": f"kb/{KB}", "messages": [{"role": "user", "content": q}]}
                return (await http.post("/v1/chat/completions", json=body)).raise_for_status()

            print(
                "  "
                + summary("POST /v1/retrieve (hybrid), HTTP, Edge", await timed(retrieve, queries))
            )
            print(
                "  "
                + summary(
                    "extractive /v1/chat/completions, HTTP, Edge", await timed(answer, queries)
                )
            )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--skip-local", action="store_true", help="leave out qdrant-client local mode (slow)"
    )
    args = parser.parse_args()
    if not SCIFACT.is_dir():
        sys.exit(f"SciFact not found at {SCIFACT}")
    print("machine:", ", ".join(f"{k}={v}" for k, v in machine().items()))
    embedder = configured_embedder()
    sentences, queries = texts_and_queries(args.queries)
    for n in args.sizes:
        await bench_size(n, embedder, sentences, queries, local=not args.skip_local)


if __name__ == "__main__":
    asyncio.run(main())

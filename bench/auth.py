"""What authentication and the grant filter add to a hybrid query (goal: at most 1 ms at p50).

Run by hand from the repository root (a minute or two; nothing else should run meanwhile):

    HF_HUB_OFFLINE=1 .venv/bin/python bench/auth.py [--chunks 10000] [--queries 300]
        [--database-url postgresql://postgres@127.0.0.1/kbbench]

A Qdrant Edge store holds `--chunks` chunks of real SciFact text (random dense vectors, real
BM25 vectors, as in bench/query.py) spread over 50 knowledge bases. The caller is a user with
an API key, in 2 groups, granted 25 of them. For each SciFact query (embedded once, up front,
so that the embedding's own variance does not drown the difference) the same Qdrant hybrid
query runs twice, alternately: as before (an unrestricted snapshot's filter) and as served
now (check the bearer key and read the groups and grants from the metadata store, restrict
the snapshot to the readable set, build the filter from it). Reported: p50 and p99 of each,
the p50 of the per-query difference, and authentication and restriction on their own.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.ingest import configured_embedder  # noqa: E402
from bench.query import fill, make_points, summary, texts_and_queries  # noqa: E402
from core.auth import Level  # noqa: E402
from core.auth.authenticator import Authenticator  # noqa: E402
from core.auth.scope import enter, restrict, scoped  # noqa: E402
from core.auth.settings import AuthSettings  # noqa: E402
from core.sparse import Bm25Encoder, SparseVector  # noqa: E402
from core.store import VectorQuery, Visibility, Where  # noqa: E402
from core.store.base import VectorStore  # noqa: E402
from tests.support.runtime import open_runtime  # noqa: E402

KBS = [f"kb{i:02d}" for i in range(50)]
ASKED = KBS[:5]  # what each query names: all readable, as in a normal request


def grant_world(auth: Authenticator) -> str:
    """A user in 2 groups with 25 readable knowledge bases; returns its bearer header."""
    directory, grants = auth.directory, auth.grants
    directory.add_user("bench")
    for group in ("staff", "research"):
        directory.add_group(group)
        directory.add_member(group, "bench")
    for i, kb in enumerate(KBS[:25]):
        kind, subject = ("user", "bench") if i % 3 == 0 else ("group", ("staff", "research")[i % 2])
        grants.set(kb, kind, subject, Level.READ)  # type: ignore[arg-type]
    return "Bearer " + directory.create_key("bench", ["read"]).token


async def paired(
    before: Callable[[int], Awaitable[object]], after: Callable[[int], Awaitable[object]], n: int
) -> tuple[list[float], list[float]]:
    """Each query both ways, alternating which goes first; milliseconds."""
    times: dict[str, list[float]] = {"before": [], "after": []}
    for i in range(n):
        order = [("before", before), ("after", after)]
        for name, call in order if i % 2 == 0 else reversed(order):
            started = time.perf_counter()
            await call(i)
            times[name].append((time.perf_counter() - started) * 1000)
    return times["before"], times["after"]


def line(name: str, ms: list[float]) -> str:
    return f"{name:<48} p50 {statistics.median(ms):8.3f} ms"


async def run(chunks: int, queries: int, database_url: str | None) -> None:
    embedder = configured_embedder()
    sentences, texts = texts_and_queries(queries)
    bm25 = Bm25Encoder()
    points = make_points(chunks, sentences, bm25, embedder.dimension)
    for i, point in enumerate(points):
        point.payload["kb"] = KBS[i % len(KBS)]
    vectors = [(embedder.embed_query(q), bm25.query(q)) for q in texts]
    with tempfile.TemporaryDirectory() as tmp:
        runtime = await open_runtime(Path(tmp) / "data", embedder, database_url=database_url)
        try:
            for kb in KBS:
                runtime.registry.create_kb(kb)
            seconds = await fill(runtime.store, points)
            print(f"{chunks:,} chunks in {len(KBS)} knowledge bases, filled in {seconds:.1f} s")
            print(f"metadata store: {runtime.db.dialect}")
            auth = Authenticator(AuthSettings(enabled=True), runtime.db)
            header = grant_world(auth)
            await measure(runtime.store, runtime.registry.visibility, auth, header, vectors)
        finally:
            await runtime.close()


async def measure(
    store: VectorStore, source: Callable[[], Visibility], auth: Authenticator, header: str,
    vectors: list[tuple[list[float], SparseVector]],
) -> None:  # fmt: skip
    visible = scoped(source)

    def query(where: Where, i: int) -> VectorQuery:
        dense, sparse = vectors[i]
        return VectorQuery(where, limit=24, dense=dense, sparse=sparse)

    async def before(i: int) -> object:
        return await store.query(query(source().where(ASKED), i))

    async def after(i: int) -> object:
        enter(await auth.principal(header, "10.0.0.7"))
        return await store.query(query(visible().where(ASKED), i))

    n = len(vectors)
    await before(0), await after(0)  # warm-up
    a, b = await paired(before, after, n)
    print(summary("hybrid query, no authentication", a))
    print(summary("hybrid query, authenticated + grant filter", b))
    print(line("overhead (per-query difference)", [y - x for x, y in zip(a, b, strict=True)]))
    auth_ms, restrict_ms = [], []
    snapshot = source()
    for _ in range(n):
        started = time.perf_counter()
        enter(await auth.principal(header, "10.0.0.7"))
        middle = time.perf_counter()
        restrict(snapshot).where(ASKED)
        auth_ms.append((middle - started) * 1000)
        restrict_ms.append((time.perf_counter() - middle) * 1000)
    print(line("authentication alone (key, groups, grants)", auth_ms))
    print(line("snapshot restriction + filter alone", restrict_ms))
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--database-url", default=None, help="PostgreSQL; default SQLite.")
    args = parser.parse_args()
    asyncio.run(run(args.chunks, args.queries, args.database_url))


if __name__ == "__main__":
    main()

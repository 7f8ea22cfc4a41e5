"""Services-mode benchmark: ingestion with 1, 2 and 4 workers, retrieval through 1 and 2 replicas.

Run by hand from the repository root, on a quiet machine, with PostgreSQL and Redis running:

    HF_HUB_OFFLINE=1 .venv/bin/python bench/services.py [--docs 300] [--queries 200]

Every part is its own process, as in docker-compose: `python -m ingest worker` (N of them),
`python -m serving serve` (1 or 2 replicas, `KB_WORKER__IN_PROCESS=false`), the Qdrant REST
stand-in over Edge (no Qdrant server runs here), PostgreSQL for the metadata (a fresh database
per run) and Redis. The corpus is the first `--docs` SciFact abstracts, one text file each,
uploaded in one request; the time is from the upload to the job's last outcome. Retrieval:
`--clients` concurrent clients send SciFact questions to `POST /v1/retrieve`, all to one
replica, then spread round-robin over two.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import httpx  # noqa: E402
import psycopg  # noqa: E402

from tests.support.processes import Service, clean_env  # noqa: E402
from tests.support.qdrant_standin import QdrantStandinProcess  # noqa: E402
from tests.support.server import free_port  # noqa: E402

SCIFACT = Path("/work/shared/eval/beir/scifact")
POSTGRES = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
STARTUP_S = 600  # a loaded machine imports torch slowly


def corpus(folder: Path, limit: int) -> list[Path]:
    folder.mkdir(parents=True)
    paths = []
    with (SCIFACT / "corpus.jsonl").open() as lines:
        for line in itertools.islice(lines, limit):
            record = json.loads(line)
            path = folder / f"{record['_id']}.txt"
            path.write_text(f"{record.get('title', '')}\n\n{record['text']}", encoding="utf-8")
            paths.append(path)
    return paths


def questions(limit: int) -> list[str]:
    with (SCIFACT / "queries.jsonl").open() as lines:
        return [json.loads(line)["text"] for line in itertools.islice(lines, limit)]


def fresh_database() -> str:
    name = f"kb_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    return POSTGRES.rpartition("/")[0] + f"/{name}"


def drop_database(url: str) -> None:
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{url.rpartition("/")[2]}" WITH (FORCE)')


class Deployment:
    """A metadata database, a collection, shared folders, and the processes over them."""

    def __init__(self, work: Path, qdrant_url: str, name: str) -> None:
        self.work, self.database = work / name, fresh_database()
        self.env = {
            "KB_DATABASE_URL": self.database,
            "KB_STORE__QDRANT_URL": qdrant_url,
            "KB_STORE__COLLECTION": f"bench_{name}",
            "KB_REDIS_URL": REDIS,
            "KB_REDIS_PREFIX": f"kbbench:{uuid.uuid4().hex[:8]}:",
            "KB_UPLOADS_DIR": str(self.work / "uploads"),
            "KB_ORIGINALS_DIR": str(self.work / "originals"),
            "KB_WORKER__IN_PROCESS": "false",
            "KB_WORKER__POLL_S": "0.2",
            "KB_CACHE__ENABLED": "false",
            # One ONNX export for every process of every deployment, as a shared volume would.
            "KB_EMBEDDING__CACHE_DIR": str(work / "models"),
        }
        self.services: list[Service] = []

    def api(self, index: int) -> Service:
        port = free_port()
        env = clean_env(**self.env, KB_DATA_DIR=str(self.work / f"api{index}"))
        service = Service(f"api{index}", ["-m", "serving", "serve", "--port", str(port)], env,
                          self.work / "logs", url=f"http://127.0.0.1:{port}")  # fmt: skip
        self.services.append(service.start(timeout_s=STARTUP_S))
        return service

    def worker(self, index: int) -> Service:
        env = clean_env(**self.env, KB_DATA_DIR=str(self.work / f"worker{index}"),
                        KB_WORKER__METRICS_PORT=str(free_port()))  # fmt: skip
        service = Service(f"worker{index}", ["-m", "ingest", "worker"], env, self.work / "logs")
        self.services.append(service.start(timeout_s=STARTUP_S))
        return service

    def close(self) -> None:
        for service in self.services:
            service.stop()
        drop_database(self.database)


def wait_ready(workers: list[Service], timeout_s: float = STARTUP_S) -> None:
    """Until every worker has loaded its model and logged that it is ready."""
    deadline = time.monotonic() + timeout_s
    while not all("ready" in w.log.read_text() for w in workers):
        if time.monotonic() > deadline:
            raise RuntimeError("workers did not start")
        time.sleep(0.2)


def ingest(api: Service, paths: list[Path]) -> dict[str, Any]:
    httpx.post(f"{api.url}/v1/knowledge-bases", json={"name": "bench"}).raise_for_status()
    started = time.perf_counter()
    files = [("files", (p.name, p.read_bytes())) for p in paths]
    job = httpx.post(f"{api.url}/v1/knowledge-bases/bench/documents", files=files, timeout=300)
    job_id = job.json()["id"]
    while (found := httpx.get(f"{api.url}/v1/jobs/{job_id}").json())["status"] != "done":
        time.sleep(0.1)
    elapsed = time.perf_counter() - started
    workers = {f["worker"].split(":")[1] for f in found["files"]}
    return {"seconds": round(elapsed, 1), "docs_per_s": round(len(paths) / elapsed, 2),
            "counts": found["counts"], "workers_used": len(workers)}  # fmt: skip


async def retrieve(urls: list[str], queries: list[str], clients: int) -> dict[str, Any]:
    latencies: list[float] = []
    pending = iter(enumerate(queries))

    async def client(http: httpx.AsyncClient) -> None:
        for index, query in pending:
            url = urls[index % len(urls)]
            body = {"query": query, "knowledge_bases": ["bench"], "top_k": 8}
            started = time.perf_counter()
            response = await http.post(f"{url}/v1/retrieve", json=body)
            latencies.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()

    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=60) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    return {"p50_ms": round(statistics.median(ordered), 1),
            "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1], 1),
            "queries_per_s": round(len(queries) / wall, 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=300)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix="kb-bench-services-"))
    paths = corpus(work / "corpus", args.docs)
    standin = QdrantStandinProcess(work / "qdrant")
    standin.start()
    results: dict[str, Any] = {"docs": args.docs, "ingest": {}, "retrieve": {}}
    try:
        for count in (int(n) for n in args.workers.split(",")):
            deployment = Deployment(work, standin.url, f"w{count}")
            try:
                api = deployment.api(0)
                workers = [deployment.worker(i) for i in range(count)]
                wait_ready(workers)
                results["ingest"][count] = ingest(api, paths)
                print(f"{count} worker(s): {results['ingest'][count]}", flush=True)
                if count == 1:
                    for service in workers:
                        service.stop()
                    second = deployment.api(1)
                    asked = questions(args.queries)
                    one, two = str(api.url), str(second.url)
                    for label, urls in (("1 replica", [one]), ("2 replicas", [one, two])):
                        asyncio.run(retrieve(urls, asked[:20], args.clients))  # warm up
                        figures = asyncio.run(retrieve(urls, asked, args.clients))
                        results["retrieve"][label] = figures
                        print(f"retrieve through {label}: {figures}", flush=True)
            finally:
                deployment.close()
    finally:
        standin.stop()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

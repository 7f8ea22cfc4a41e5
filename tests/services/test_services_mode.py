"""Services mode end to end, every part its own process on loopback.

Two API replicas (`python -m serving serve`), two ingest workers (`python -m ingest worker`),
the search proxy and the vLLM stand-in, sharing the machine's real PostgreSQL and Redis, a
shared uploads folder and one Qdrant server: the loopback stand-in that speaks Qdrant's REST
API (or a real Qdrant when QDRANT_URL is set). Upload through one replica, follow the job and
ask through the other; SIGKILL the worker mid-document and check the document ends up
ingested exactly once; restart everything and check nothing is lost or ingested twice.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from core.store import Where
from core.store.qdrant import QdrantClientStore
from tests.support.databases import REDIS_URL, redis_prefix
from tests.support.env import QDRANT_URL
from tests.support.processes import Service, clean_env
from tests.support.qdrant_standin import QdrantStandinProcess
from tests.support.search_engines import EngineStandins, Page
from tests.support.server import free_port, serve

pytestmark = pytest.mark.slow

COLLECTION = "kb_services_test"
LEASE_S = 4.0
BIG_PARAGRAPHS = 900


@dataclass
class Stack:
    """Every process of the deployment, and where to reach it."""

    api: list[Service]
    workers: list[Service]
    proxy: Service
    vllm: Service
    qdrant_url: str
    docs: Path

    @property
    def services(self) -> list[Service]:
        return [*self.api, *self.workers, self.proxy, self.vllm]

    def restart(self) -> None:
        for service in self.services:
            service.stop()
        for service in self.services:
            service.start()


def write_docs(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    texts = {
        "leave.txt": "Employees receive 25 days of paid annual leave per calendar year.\n\n"
        "Unused leave days can be carried over until the end of March.",
        "security.txt": "Passwords must be at least 14 characters long.\n\n"
        "Lost laptops must be reported to the security desk within one hour.",
        "big.txt": "\n\n".join(
            f"Section {i} of the operations manual. Procedure {i} requires step {i} to be "
            f"signed by the duty engineer before shift {i % 7} ends."
            for i in range(BIG_PARAGRAPHS)
        ),
    }
    paths = {}
    for name, text in texts.items():
        paths[name] = folder / name
        paths[name].write_text(text, encoding="utf-8")
    return paths


@pytest.fixture
def stack(tmp_path: Path, postgres_url: str) -> Iterator[Stack]:
    engines = EngineStandins()
    engines["searxng"].reset(
        results=[
            Page(
                "https://example.org/leave",
                "Leave law",
                "By law, employees get at least 20 days of leave.",
            )
        ]
    )
    standin = None
    if QDRANT_URL is None:
        standin = QdrantStandinProcess(tmp_path / "qdrant")
        standin.start()
    qdrant_url = QDRANT_URL or standin.url  # type: ignore[union-attr]
    logs = tmp_path / "logs"
    with serve(engines.app()) as engines_url:
        vllm_port, proxy_port = free_port(), free_port()
        vllm = Service("vllm", ["-m", "tests.support.vllm_standin", "--port", str(vllm_port)],
                       clean_env(), logs, url=f"http://127.0.0.1:{vllm_port}")  # fmt: skip
        proxy_env = clean_env(
            KB_SEARCH_ENGINES__SEARXNG__ENABLED="true",
            KB_SEARCH_ENGINES__SEARXNG__URL=f"{engines_url}/searxng/search",
        )
        proxy = Service("proxy", ["-m", "search_proxy", "serve", "--port", str(proxy_port)],
                        proxy_env, logs, url=f"http://127.0.0.1:{proxy_port}")  # fmt: skip
        shared = {
            "KB_DATABASE_URL": postgres_url,
            "KB_STORE__QDRANT_URL": qdrant_url,
            "KB_STORE__COLLECTION": COLLECTION,
            "KB_REDIS_URL": REDIS_URL,
            "KB_REDIS_PREFIX": redis_prefix(),
            "KB_UPLOADS_DIR": str(tmp_path / "uploads"),
            "KB_WORKER__IN_PROCESS": "false",
            "KB_WORKER__LEASE_S": str(LEASE_S),
            "KB_WORKER__POLL_S": "0.2",
            "KB_WORKER__JANITOR_S": "1",
            "KB_WORKER__PURGE_GRACE_S": "1",
            "KB_EMBEDDING__BATCH_SIZE": "8",
            "KB_LLM__BASE_URL": f"http://127.0.0.1:{vllm_port}/v1",
            "KB_WEB__URL": f"http://127.0.0.1:{proxy_port}",
        }
        api = []
        for i in range(2):
            port = free_port()
            env = clean_env(**shared, KB_DATA_DIR=str(tmp_path / f"api{i}"))
            api.append(Service(f"api{i}", ["-m", "serving", "serve", "--port", str(port)], env,
                               logs, url=f"http://127.0.0.1:{port}"))  # fmt: skip
        # Workers on one host each need their own metrics port (containers have their own).
        workers = [
            Service(f"worker{i}", ["-m", "ingest", "worker"],
                    clean_env(**shared, KB_DATA_DIR=str(tmp_path / f"worker{i}"),
                              KB_WORKER__METRICS_PORT=str(free_port())), logs)
            for i in range(2)
        ]  # fmt: skip
        stack = Stack(api, workers, proxy, vllm, qdrant_url, tmp_path / "docs")
        try:
            for service in [vllm, proxy, *api, *workers]:
                service.start()
            yield stack
        finally:
            for service in stack.services:
                service.kill()
            if standin is not None:
                standin.stop()


def sdk(service: Service) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{service.url}/v1", api_key="unused", max_retries=0)


def upload(service: Service, kb: str, paths: list[Path]) -> dict[str, Any]:
    handles = [("files", (p.name, p.read_bytes())) for p in paths]
    response = httpx.post(f"{service.url}/v1/knowledge-bases/{kb}/documents", files=handles)
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    return job


def job(service: Service, job_id: str) -> dict[str, Any]:
    found: dict[str, Any] = httpx.get(f"{service.url}/v1/jobs/{job_id}").json()
    return found


def wait_done(service: Service, job_id: str, timeout_s: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = job(service, job_id)
        if found["status"] in ("done", "failed"):
            return found
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {found['status']} after {timeout_s} s: {found}")


def documents(service: Service, kb: str) -> dict[str, dict[str, Any]]:
    listed = httpx.get(f"{service.url}/v1/knowledge-bases/{kb}/documents").json()["data"]
    return {d["source"]: d for d in listed}


def stored_chunks(qdrant_url: str, doc_id: str) -> int:
    """Every point of the document in Qdrant, whatever its generation."""

    async def count() -> int:
        store = QdrantClientStore(qdrant_url, COLLECTION)
        try:
            return await store.count(Where(doc_id=doc_id))
        finally:
            await store.close()

    return asyncio.run(count())


def assert_exactly_once(stack: Stack, kb: str) -> dict[str, dict[str, Any]]:
    """Each document listed once, the same on both replicas, with exactly its chunks stored."""
    listed = documents(stack.api[0], kb)
    assert documents(stack.api[1], kb) == listed
    deadline = time.monotonic() + 30  # retired generations are purged after a short grace
    for doc in listed.values():
        while stored_chunks(stack.qdrant_url, doc["id"]) != doc["chunks"]:
            assert time.monotonic() < deadline, f"{doc['source']}: orphan chunks not purged"
            time.sleep(0.5)
        served = httpx.get(
            f"{stack.api[1].url}/v1/knowledge-bases/{kb}/documents/{doc['id']}/chunks"
        ).json()["data"]
        assert [c["index"] for c in served] == list(range(doc["chunks"]))
    return listed


def test_replicas_and_workers_share_one_deployment(stack: Stack):
    one, other = stack.api
    paths = write_docs(stack.docs)
    assert httpx.post(f"{one.url}/v1/knowledge-bases", json={"name": "ops"}).status_code == 201
    assert "kb/ops" in {m.id for m in sdk(other).models.list()}

    created = upload(one, "ops", [paths["leave.txt"], paths["big.txt"], paths["security.txt"]])
    # Follow it through the other replica until a worker is inside the big document.
    deadline = time.monotonic() + 180
    while True:
        seen = job(other, created["id"])
        big = next(f for f in seen["files"] if f["name"] == "big.txt")
        if big["outcome"] is None and big["chunks"] > 0:
            break
        assert seen["status"] in ("queued", "running"), seen
        assert time.monotonic() < deadline, f"never saw big.txt being embedded: {seen}"
        time.sleep(0.05)
    holder = next(w for w in stack.workers if big["worker"].split(":")[1] == str(w.pid))
    holder.kill(signal.SIGKILL)

    done = wait_done(other, created["id"])
    assert done["status"] == "done", done
    assert done["counts"] == {"ingested": 3}
    big = next(f for f in done["files"] if f["name"] == "big.txt")
    assert big["attempts"] == 2
    assert big["worker"].split(":")[1] != str(holder.pid)
    listed = assert_exactly_once(stack, "ops")
    assert set(listed) == {"leave.txt", "big.txt", "security.txt"}
    holder.start()

    # Asked through one replica, the same question is a cache hit on the other.
    question: list[ChatCompletionMessageParam] = [
        {"role": "user", "content": "How many days of paid annual leave?"}
    ]
    first = sdk(one).chat.completions.create(model="kb/ops", messages=question).model_dump()
    assert "25 days" in first["choices"][0]["message"]["content"]
    assert first["citations"][0]["source"] == "leave.txt"
    again = sdk(other).chat.completions.create(model="kb/ops", messages=question).model_dump()
    assert again["cached"] is True
    assert again["citations"] == first["citations"]
    assert httpx.get(f"{other.url}/v1/cache/stats").json()["hits"] >= 1

    # Web results come through the search proxy's own process.
    web = (
        sdk(other)
        .chat.completions.create(
            model="kb/ops+web", messages=[{"role": "user", "content": "leave law days"}]
        )
        .model_dump()
    )
    assert web["warnings"] == []
    assert web["cached"] is False

    # Restart everything: nothing is lost, and nothing is ingested twice.
    stack.restart()
    assert assert_exactly_once(stack, "ops") == listed
    again = wait_done(other, upload(other, "ops", list(paths.values()))["id"])
    assert again["counts"] == {"unchanged": 3}
    assert assert_exactly_once(stack, "ops") == listed

"""The REAL answer service (`serving.app.create_app`) on loopback, fed through its own HTTP API.

`answer_service(data_dir, embedder)` serves the app under uvicorn, wrapped in `Faults` so a
test can make chosen requests fail, and yields an `AnswerService`: a thin client that creates
knowledge bases, uploads documents and waits for their job, asks for cited answers and posts
ratings, exactly as any client of the API would. No LLM is configured, so answers are
extractive; the model alias is `kb-base`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from core.embeddings import Embedder
from ingest.settings import IngestSettings
from serving.app import create_app
from serving.settings import ServingSettings
from tests.support.faults import Faults
from tests.support.server import free_port, serve

ALIAS = "kb-base"
_names = itertools.count(1)
Content = str | bytes | Path


@dataclass
class AnswerService:
    """One served app; knowledge bases it creates get names no earlier test used."""

    url: str
    faults: Faults
    http: httpx.Client

    def reset(self) -> None:
        """Faults lifted, the record emptied, the alias back, every knowledge base deleted."""
        self.faults.clear()
        for kb in self.http.get("/v1/knowledge-bases").json()["data"]:
            self._ok(self.http.delete(f"/v1/knowledge-bases/{kb['name']}"))
        self.point(None)
        self.faults.requests.clear()

    def create_kb(self, stem: str, *, exact: bool = False) -> str:
        """A new knowledge base named `stem-N` (fresh each time), or `stem` itself with
        `exact` (an app of the test's own); returns its name."""
        name = stem if exact else f"{stem}-{next(_names)}"
        self._ok(self.http.post("/v1/knowledge-bases", json={"name": name}))
        return name

    def upload(self, kb: str, files: dict[str, Content]) -> list[dict[str, Any]]:
        """Upload `files` (name → content) as one job, wait for it, return their documents.

        Returns once the clock has passed the second the job finished in, so the next upload
        is ingested in a later second (`ingested_at` has second precision): tests get a known
        order from real ingestion.
        """
        parts = [("files", (name, _bytes(content))) for name, content in files.items()]
        job = self._ok(self.http.post(f"/v1/knowledge-bases/{kb}/documents", files=parts))
        deadline = time.monotonic() + 120
        while job["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline, f"job {job['id']} did not finish: {job}"
            time.sleep(0.05)
            job = self._ok(self.http.get(f"/v1/jobs/{job['id']}"))
        assert all(f["outcome"] in ("ingested", "replaced", "unchanged") for f in job["files"]), job
        _next_second()
        listed = {d["source"]: d for d in self.documents(kb)}
        return [listed[name] for name in files]

    async def delete_document(self, kb: str, doc_id: str) -> None:
        """Delete a document as another client would (usable from inside a `Faults` hook)."""
        async with httpx.AsyncClient(base_url=self.url, timeout=60) as http:
            self._ok(await http.delete(f"/v1/knowledge-bases/{kb}/documents/{doc_id}"))

    def documents(self, kb: str) -> list[dict[str, Any]]:
        listed = self._ok(self.http.get(f"/v1/knowledge-bases/{kb}/documents"))
        documents: list[dict[str, Any]] = listed["data"]
        return documents

    def citation(self, kb: str, question: str, source: str, page: int = 1) -> dict[str, Any]:
        """The citation of `source`, `page` in a real answer to `question` over `kb`."""
        body = {"model": f"kb/{kb}", "messages": [{"role": "user", "content": question}]}
        answer = self._ok(self.http.post("/v1/chat/completions", json=body))
        citations: list[dict[str, Any]] = answer["citations"]
        cited = [c for c in citations if (c.get("source"), c.get("page")) == (source, page)]
        assert cited, f"{question!r} over {kb} cites no {source} page {page}: {citations}"
        return cited[0]

    def rate(self, question: str, answer: str, rating: int, citations: list[dict[str, Any]]) -> int:
        """Post a rating through `POST /v1/feedback`; returns its id."""
        body = {"question": question, "answer": answer, "rating": rating, "citations": citations}
        number: int = self._ok(self.http.post("/v1/feedback", json=body))["id"]
        return number

    def last_feedback_id(self) -> int:
        """The highest rating id so far (0 when none)."""
        last, page = 0, {"last_id": -1}
        while page["last_id"] != last:
            last = max(last, page["last_id"])
            page = self._ok(self.http.get("/v1/feedback", params={"after": last, "limit": 1000}))
        return last

    @property
    def model(self) -> str:
        """The name answers send to the LLM server now."""
        name: str = self._ok(self.http.get("/v1/model-alias"))["model"]
        return name

    def point(self, model: str | None) -> None:
        self._ok(self.http.put("/v1/model-alias", json={"model": model}))

    @staticmethod
    def _ok(response: httpx.Response) -> Any:
        where = response.request.url
        assert response.is_success, f"{where}: {response.status_code} {response.text}"
        return response.json()


@contextmanager
def answer_service(data_dir: Path, embedder: Embedder) -> Iterator[AnswerService]:
    """The app on a fresh `data_dir`, served until the block ends."""
    port = free_port()
    settings = ServingSettings(port=port, llm={"model": ALIAS})
    app = Faults(create_app(settings, IngestSettings(data_dir=data_dir), embedder=embedder))
    with serve(app, port=port) as url, httpx.Client(base_url=url, timeout=60) as http:
        yield AnswerService(url, app, http)


def instant(document: dict[str, Any]) -> dt.datetime:
    """A listed document's `ingested_at`, as the collector reads it."""
    return dt.datetime.fromisoformat(document["ingested_at"]).astimezone(dt.UTC)


def _bytes(content: Content) -> bytes:
    if isinstance(content, Path):
        return content.read_bytes()
    return content.encode() if isinstance(content, str) else content


def _next_second() -> None:
    now = time.time()
    time.sleep(int(now) + 1 - now + 0.01)

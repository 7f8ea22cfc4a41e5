"""The knowledge-base API over real HTTP: the app under uvicorn on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ingest.settings import IngestSettings
from serving.app import create_app
from serving.settings import ServingSettings
from tests.support.runtime import paragraphs
from tests.support.server import free_port, serve


@pytest.fixture
def api(tmp_path: Path, embedder) -> Iterator[httpx.Client]:
    port = free_port()
    app = create_app(
        ServingSettings(port=port), IngestSettings(data_dir=tmp_path / "data"), embedder=embedder
    )
    with serve(app, port=port) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def wait_for_job(api: httpx.Client, job_id: str, timeout_s: float = 120) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = api.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


def text_file(name: str, topic: str, count: int = 8) -> tuple[str, tuple[str, bytes, str]]:
    body = "\n\n".join(paragraphs(topic, count)).encode()
    return ("files", (name, body, "text/plain"))


def test_health_and_docs(api):
    assert api.get("/healthz").json() == {"status": "ok"}
    assert api.get("/docs").status_code == 200
    paths = api.get("/openapi.json").json()["paths"]
    assert "/v1/knowledge-bases/{kb}/documents" in paths


def test_knowledge_bases_can_be_created_listed_and_deleted(api):
    created = api.post("/v1/knowledge-bases", json={"name": "hr", "description": "HR"})
    assert created.status_code == 201
    assert api.post("/v1/knowledge-bases", json={"name": "hr"}).status_code == 409
    assert [kb["name"] for kb in api.get("/v1/knowledge-bases").json()["data"]] == ["hr"]
    assert api.delete("/v1/knowledge-bases/hr").json()["deleted"] is True
    assert api.get("/v1/knowledge-bases").json()["data"] == []


def test_errors_use_the_openai_envelope(api):
    missing = api.get("/v1/knowledge-bases/nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "not_found_error"
    assert "nope" in missing.json()["error"]["message"]
    bad_name = api.post("/v1/knowledge-bases", json={"name": "a/b"})
    assert bad_name.status_code == 400
    unreadable = api.post(
        "/v1/knowledge-bases", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert unreadable.status_code == 422
    assert unreadable.json()["error"]["type"] == "invalid_request_error"
    no_kb = api.post("/v1/knowledge-bases/nope/documents", files=[text_file("a.txt", "a")])
    assert no_kb.status_code == 404
    assert api.get("/v1/jobs/unknown").status_code == 404


def test_upload_answers_at_once_and_the_job_reports_each_file(api):
    api.post("/v1/knowledge-bases", json={"name": "docs"})
    files = [
        text_file("big.txt", "long report", 400),
        text_file("small.txt", "memo"),
        ("files", ("empty.txt", b"", "text/plain")),
        ("files", ("scan.xyz", b"\x00\x01", "application/octet-stream")),
    ]
    response = api.post("/v1/knowledge-bases/docs/documents", files=files)
    assert response.status_code == 202
    job = response.json()
    # The answer came before the work: the big file cannot have been embedded yet.
    assert job["status"] in ("queued", "running")
    assert job["progress"]["files_total"] == 4
    assert api.get("/healthz").status_code == 200
    job = wait_for_job(api, job["id"])
    outcomes = {f["name"]: (f["outcome"], f["reason"]) for f in job["files"]}
    assert outcomes == {
        "big.txt": ("ingested", None),
        "small.txt": ("ingested", None),
        "empty.txt": ("failed", "empty"),
        "scan.xyz": ("failed", "unsupported"),
    }
    assert job["status"] == "done"
    assert job["counts"] == {"ingested": 2, "failed": 2}
    assert job["progress"]["files_done"] == 4
    docs = api.get("/v1/knowledge-bases/docs/documents").json()["data"]
    assert sorted(d["source"] for d in docs) == ["big.txt", "small.txt"]
    for doc in docs:
        assert set(doc) >= {"id", "title", "pages", "chunks", "status", "sha256", "ingested_at"}
        assert doc["status"] == "ready"
        assert doc["chunks"] > 0


def test_reupload_is_unchanged_and_delete_removes_the_document(api):
    api.post("/v1/knowledge-bases", json={"name": "docs"})
    first = api.post("/v1/knowledge-bases/docs/documents", files=[text_file("a.txt", "alpha")])
    wait_for_job(api, first.json()["id"])
    again = api.post("/v1/knowledge-bases/docs/documents", files=[text_file("a.txt", "alpha")])
    job = wait_for_job(api, again.json()["id"])
    assert job["files"][0]["outcome"] == "unchanged"
    doc_id = job["files"][0]["doc_id"]
    assert api.get(f"/v1/knowledge-bases/docs/documents/{doc_id}").json()["source"] == "a.txt"
    assert api.delete(f"/v1/knowledge-bases/docs/documents/{doc_id}").json()["deleted"] is True
    assert api.get(f"/v1/knowledge-bases/docs/documents/{doc_id}").status_code == 404
    assert api.get("/v1/knowledge-bases/docs").json()["chunks"] == 0


def test_retrieve_returns_ranked_passages_with_citation_fields(api):
    api.post("/v1/knowledge-bases", json={"name": "hr"})
    files = [text_file("leave.txt", "annual leave"), text_file("travel.txt", "business travel")]
    wait_for_job(api, api.post("/v1/knowledge-bases/hr/documents", files=files).json()["id"])
    for mode in ("hybrid", "dense", "sparse"):
        body = {"query": "annual leave report", "knowledge_bases": ["hr"], "top_k": 3, "mode": mode}
        response = api.post("/v1/retrieve", json=body)
        assert response.status_code == 200
        hits = response.json()["data"]
        assert 1 <= len(hits) <= 3
        assert hits[0]["source"] == "leave.txt"
        assert {"score", "document_id", "title", "page", "char_start", "char_end", "text"} <= hits[
            0
        ].keys()


def test_retrieve_errors(api):
    unknown = api.post("/v1/retrieve", json={"query": "x", "knowledge_bases": ["nope"]})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["type"] == "not_found_error"
    assert api.post("/v1/retrieve", json={"query": "", "knowledge_bases": ["a"]}).status_code == 422
    assert (
        api.post(
            "/v1/retrieve", json={"query": "x", "knowledge_bases": ["a"], "mode": "magic"}
        ).status_code
        == 422
    )

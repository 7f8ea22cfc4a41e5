"""Ratings, document chunks and the model alias: what the fine-tuning job reads and drives,
over the real app under uvicorn on an ingested data folder."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.serving.test_chat import build_data, served
from tests.support.server import serve
from tests.support.vllm_standin import VllmStandin

LEAVE = "How many days of paid annual leave do employees get?"


@pytest.fixture(scope="module")
def kb_template(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:
    return build_data(tmp_path_factory.mktemp("feedback"), embedder)


@pytest.fixture
def data(kb_template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(kb_template, tmp_path / "data"))


@contextmanager
def api(data: Path, embedder, **settings: Any) -> Iterator[httpx.Client]:
    with served(data, embedder, **settings) as url, httpx.Client(base_url=url, timeout=60) as c:
        yield c


def ask(client: httpx.Client, question: str) -> dict[str, Any]:
    body = {"model": "kb/hr", "messages": [{"role": "user", "content": question}]}
    answer: dict[str, Any] = client.post("/v1/chat/completions", json=body).json()
    return answer


def test_a_rating_keeps_the_whole_cited_passages_and_survives_a_restart(data, embedder):
    with api(data, embedder) as client:
        answer = ask(client, LEAVE)
        rating = {
            "question": LEAVE,
            "answer": answer["choices"][0]["message"]["content"],
            "citations": answer["citations"],
            "rating": 5,
            "comment": "right",
            "model": "kb/hr",
        }
        stored = client.post("/v1/feedback", json=rating)
        assert stored.status_code == 201
        second = client.post("/v1/feedback", json={**rating, "rating": 1, "citations": []})
    first = stored.json()
    cited = first["citations"][0]
    assert (cited["type"], cited["source"], cited["page"]) == ("document", "handbook.md", 1)
    assert "Unused leave days can be carried over" in cited["text"]  # beyond the snippet
    assert len(cited["text"]) >= len(answer["citations"][0]["snippet"])
    with api(data, embedder) as client:
        listed = client.get("/v1/feedback").json()
        after = client.get("/v1/feedback", params={"after": first["id"]}).json()
        end = client.get("/v1/feedback", params={"after": second.json()["id"]}).json()
    assert [f["rating"] for f in listed["data"]] == [5, 1]
    assert listed["data"][0] == first
    assert listed["last_id"] == second.json()["id"]
    assert [f["id"] for f in after["data"]] == [second.json()["id"]]
    assert end == {"object": "list", "data": [], "last_id": second.json()["id"]}


def test_bad_ratings_are_refused_and_nothing_is_stored(data, embedder):
    with api(data, embedder) as client:
        for bad in [
            {"question": "q", "answer": "a", "rating": 7},
            {"question": "", "answer": "a", "rating": 3},
        ]:
            response = client.post("/v1/feedback", json=bad)
            assert response.status_code == 422
            assert response.json()["error"]["type"] == "invalid_request_error"
        assert client.get("/v1/feedback").json()["data"] == []


def test_a_document_s_chunks_come_back_in_order(data, embedder):
    with api(data, embedder) as client:
        (handbook,) = [
            d for d in client.get("/v1/knowledge-bases/hr/documents").json()["data"]
            if d["source"] == "handbook.md"
        ]  # fmt: skip
        chunks = client.get(f"/v1/knowledge-bases/hr/documents/{handbook['id']}/chunks").json()
        missing = client.get("/v1/knowledge-bases/hr/documents/nope/chunks")
    assert chunks["document_id"] == handbook["id"]
    assert [c["index"] for c in chunks["data"]] == list(range(handbook["chunks"]))
    text = " ".join(c["text"] for c in chunks["data"])
    assert text.index("25 days of paid annual leave") < text.index("16 weeks of parental leave")
    assert missing.status_code == 404


def test_the_model_alias_decides_what_vllm_is_asked_for(data, embedder):
    llm = VllmStandin(model="kb-base")
    with serve(llm.app()) as llm_url:
        settings = {"llm": {"base_url": f"{llm_url}/v1", "model": "kb-base"}}
        with api(data, embedder, **settings) as client:
            assert client.get("/v1/model-alias").json() == {"alias": "kb-base", "model": "kb-base"}
            ask(client, LEAVE)
            pointed = client.put("/v1/model-alias", json={"model": "kb-lora-v0001"}).json()
            ask(client, LEAVE)
        with api(data, embedder, **settings) as client:  # a restart keeps the target
            ask(client, LEAVE)
            back = client.put("/v1/model-alias", json={"model": None}).json()
            ask(client, LEAVE)
    assert pointed == {"alias": "kb-base", "model": "kb-lora-v0001"}
    assert back == {"alias": "kb-base", "model": "kb-base"}
    asked = [r.body["model"] for r in llm.requests]
    assert asked == ["kb-base", "kb-lora-v0001", "kb-lora-v0001", "kb-base"]

"""A data folder from the release before migrations, opened by today's `kb serve`.

Its registry upgrades in place, its queued upload is ingested, and its ratings and model
alias move into the metadata store; nothing is lost. Its knowledge base keeps the BM25
tokenizer the old index was built with, for the documents it had and for new ones.
"""

from __future__ import annotations

import sqlite3
import time

import httpx

from ingest.settings import IngestSettings
from serving.app import create_app
from serving.settings import ServingSettings
from tests.core.test_db_migrations import legacy_folder
from tests.support.server import free_port, serve


def test_an_old_data_folder_serves_everything_it_held(tmp_path, embedder):
    data, upload = tmp_path / "data", tmp_path / "b.txt"
    upload.write_text("Badges must be worn visibly at all times inside the building.")
    legacy_folder(data, upload)
    # How registries before per-knowledge-base tokenizers named their index.
    signature = f"{embedder.name} ({embedder.dimension}d) + bm25-cjk-2"
    with sqlite3.connect(data / "registry.sqlite3") as conn:
        conn.execute("UPDATE meta SET value=? WHERE key='index'", (signature,))
    port = free_port()
    app = create_app(ServingSettings(port=port), IngestSettings(data_dir=data), embedder=embedder)
    with serve(app, port=port) as url:
        job = httpx.get(f"{url}/v1/jobs/j1").json()
        deadline = time.monotonic() + 120
        while job["status"] != "done" and time.monotonic() < deadline:
            time.sleep(0.2)
            job = httpx.get(f"{url}/v1/jobs/j1").json()
        assert job["counts"] == {"ingested": 1}
        listed = httpx.get(f"{url}/v1/knowledge-bases/hr/documents").json()["data"]
        assert {d["source"] for d in listed} == {"a.txt", "b.txt"}
        found = httpx.post(
            f"{url}/v1/retrieve",
            json={"query": "badges worn", "knowledge_bases": ["hr"], "mode": "sparse"},
        ).json()["data"]
        assert [hit["source"] for hit in found] == ["b.txt"]
        ratings = httpx.get(f"{url}/v1/feedback").json()["data"]
        assert [(r["id"], r["question"], r["rating"]) for r in ratings] == [(1, "Q?", 5)]
        alias = httpx.get(f"{url}/v1/model-alias").json()
        assert alias["model"] == "kb-lora-v0001"
        rated = httpx.post(
            f"{url}/v1/feedback", json={"question": "Q2?", "answer": "A", "rating": 1}
        ).json()
        assert rated["id"] == 2, "new ratings continue after the imported ones"
    with sqlite3.connect(data / "registry.sqlite3") as conn:
        rows = dict(conn.execute("SELECT key, value FROM meta WHERE key LIKE 'sparse:%'"))
        index = conn.execute("SELECT value FROM meta WHERE key='index'").fetchone()[0]
    assert rows == {"sparse:hr": "bm25-cjk-2"}
    assert index == f"{embedder.name} ({embedder.dimension}d)"
    assert not (data / "feedback.sqlite3").exists()
    assert (data / "feedback.sqlite3.imported").exists()
    assert not upload.exists(), "a processed upload is removed"

"""`python -m ingest serve`'s app on its own: the knowledge-base API without answers."""

import httpx

from ingest.app import create_app
from ingest.settings import IngestSettings
from tests.support.server import serve


def test_the_ingest_service_serves_knowledge_bases(tmp_path, embedder):
    app = create_app(IngestSettings(data_dir=tmp_path / "data"), embedder=embedder)
    with serve(app) as url, httpx.Client(base_url=url) as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        assert http.post("/v1/knowledge-bases", json={"name": "hr"}).status_code == 201
        assert [kb["name"] for kb in http.get("/v1/knowledge-bases").json()["data"]] == ["hr"]
        assert http.post("/v1/chat/completions", json={}).status_code == 404

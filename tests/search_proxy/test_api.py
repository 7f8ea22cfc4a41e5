"""The search proxy served by uvicorn over engine stand-ins: merge, failures, filter, fetch."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from kb.cli import cli
from search_proxy.app import create_app
from search_proxy.settings import FetchSettings, FilterSettings, SearchProxySettings
from tests.support.search_engines import EngineStandins, Page
from tests.support.server import serve

SHARED = Page("https://www.example.com/solar/?utm_source=x", "Solar power", "How panels work.")
SHARED_AGAIN = Page("http://example.com/solar", "Solar power explained", "How solar panels work.")
ONLY_BRAVE = Page("https://brave-only.example/", "Wind power", "Turbines turn wind into power.")
ONLY_TAVILY = Page("https://tavily-only.example/", "Hydro power", "Dams and rivers.")
SECRET = "Project Bluebird"


def settings(url: str, tmp_path: Path, *names: str, **fields) -> SearchProxySettings:
    words = tmp_path / "words.txt"
    words.write_text(f"{SECRET}\tconfidential\n内部代号\tconfidential\n", encoding="utf-8")
    base = {"engines": EngineStandins().settings(url, *names), "deadline_s": 5}
    base["filter"] = FilterSettings(words_file=words, **fields.pop("filter", {}))
    return SearchProxySettings(**{**base, **fields})


@contextmanager
def proxy(config: SearchProxySettings) -> Iterator[httpx.Client]:
    with serve(create_app(config)) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def test_results_are_merged_across_engines_and_failures_listed(standins, standins_url, tmp_path):
    standins["brave"].reset(results=[SHARED, ONLY_BRAVE])
    standins["tavily"].reset(results=[ONLY_TAVILY, SHARED_AGAIN])
    standins["serper"].reset(status=500)
    standins["bocha"].reset(results=[ONLY_BRAVE], delay_s=10)
    config = settings(standins_url, tmp_path, "brave", "tavily", "serper", "bocha", deadline_s=3)
    with proxy(config) as client:
        body = client.post("/v1/search", json={"query": "solar", "max_results": 10}).json()
    first = body["results"][0]
    assert first["engines"] == ["brave", "tavily"]
    assert first["ranks"] == {"brave": 1, "tavily": 2}
    assert first["url"].startswith("https://")
    assert {r["title"] for r in body["results"]} == {
        "Solar power explained",
        "Wind power",
        "Hydro power",
    }
    assert {f["engine"]: f["reason"] for f in body["failed"]} == {
        "serper": "error",
        "bocha": "timeout",
    }


def test_engines_can_be_chosen_and_unknown_ones_are_refused(standins, standins_url, tmp_path):
    standins["brave"].reset(results=[ONLY_BRAVE])
    standins["tavily"].reset(results=[ONLY_TAVILY])
    with proxy(settings(standins_url, tmp_path, "brave", "tavily")) as client:
        body = client.post("/v1/search", json={"query": "q", "engines": ["tavily"]}).json()
        refused = client.post("/v1/search", json={"query": "q", "engines": ["google"]})
        health = client.get("/healthz").json()
    assert [r["url"] for r in body["results"]] == [ONLY_TAVILY.url]
    assert standins["brave"].requests == []
    assert refused.status_code == 400
    assert "google" in refused.json()["error"]["message"]
    assert health == {"status": "ok", "engines": ["brave", "tavily"]}


def test_a_blocked_query_never_reaches_an_engine(standins, standins_url, tmp_path):
    standins["searxng"].reset(results=[ONLY_BRAVE])
    with proxy(settings(standins_url, tmp_path, "searxng")) as client:
        body = client.post(
            "/v1/search", json={"query": "status of ｐｒｏｊｅｃｔ　ｂｌｕｅｂｉｒｄ"}
        ).json()
        stats = client.get("/v1/filter/stats").json()
    assert body["blocked"] is True
    assert body["results"] == []
    assert standins["searxng"].requests == []
    assert stats["query.block.confidential"] == 1


def test_a_stripped_query_goes_out_without_the_term(standins, standins_url, tmp_path):
    standins["searxng"].reset(results=[ONLY_BRAVE])
    config = settings(standins_url, tmp_path, "searxng", filter={"query_action": "strip"})
    with proxy(config) as client:
        body = client.post("/v1/search", json={"query": "内部 代号 solar prices"}).json()
    sent = standins["searxng"].requests[0].query
    assert "内部" not in sent
    assert "solar prices" in sent
    assert body["query"] == sent


@pytest.mark.parametrize(("action", "kept"), [("mask", 2), ("drop", 1)])
def test_results_with_listed_words_are_masked_or_dropped(
    standins, standins_url, tmp_path, action, kept
):
    leaky = Page("https://leak.example/", "News", f"Rumours about {SECRET} spread.")
    standins["brave"].reset(results=[leaky, ONLY_BRAVE])
    config = settings(standins_url, tmp_path, "brave", filter={"result_action": action})
    with proxy(config) as client:
        body = client.post("/v1/search", json={"query": "rumours"}).json()
    assert len(body["results"]) == kept
    assert body["filtered_results"] == 2 - kept
    assert all(SECRET.lower() not in r["snippet"].lower() for r in body["results"])
    if action == "mask":
        assert "Rumours about **************** spread." in [r["snippet"] for r in body["results"]]


def page_server() -> FastAPI:
    app = FastAPI()

    @app.get("/article")
    async def article() -> HTMLResponse:
        return HTMLResponse(
            "<html><head><title>Panels</title><script>track()</script></head>"
            "<body><h1>Panels</h1><p>Silicon cells turn light into current.</p></body></html>"
        )

    return app


def test_top_pages_are_fetched_and_internal_ones_refused(standins, standins_url, tmp_path):
    with serve(page_server()) as pages:
        public = Page(f"{pages}/article", "Panels", "About panels.")
        internal = Page("http://169.254.169.254/latest/meta-data/", "Metadata", "Cloud metadata.")
        standins["brave"].reset(results=[public, internal])
        fetch = FetchSettings(allowed_networks=["127.0.0.1/32"], timeout_s=5)
        with proxy(settings(standins_url, tmp_path, "brave", fetch=fetch)) as client:
            body = client.post("/v1/search", json={"query": "panels", "fetch_pages": True}).json()
            plain = client.post("/v1/search", json={"query": "panels 2"}).json()
    texts = {r["url"]: r["page_text"] for r in body["results"]}
    assert "Silicon cells turn light into current." in texts[public.url]
    assert "track()" not in texts[public.url]
    assert texts[internal.url] is None
    assert all(r["page_text"] is None for r in plain["results"])


def test_kb_search_proxy_searches_in_process_from_env_settings(standins, standins_url, monkeypatch):
    standins["searxng"].reset(results=[SHARED, ONLY_TAVILY])
    monkeypatch.setenv("KB_SEARCH_ENGINES__SEARXNG__ENABLED", "true")
    monkeypatch.setenv("KB_SEARCH_ENGINES__SEARXNG__URL", f"{standins_url}/searxng/search")
    result = CliRunner().invoke(cli, ["search-proxy", "search", "solar"])
    assert result.exit_code == 0, result.output
    assert "Solar power" in result.output
    assert "searxng#1" in result.output
    assert "2 results" in result.output


def test_kb_search_proxy_uses_a_running_proxy(standins, standins_url, tmp_path):
    standins["tavily"].reset(results=[ONLY_TAVILY])
    with serve(create_app(settings(standins_url, tmp_path, "tavily"))) as url:
        result = CliRunner().invoke(cli, ["search-proxy", "search", "hydro", "--url", url])
    assert result.exit_code == 0, result.output
    assert "Hydro power" in result.output
    assert standins["tavily"].requests[0].query == "hydro"

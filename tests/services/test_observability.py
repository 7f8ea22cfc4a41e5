"""Metrics, request ids, readiness and JSON logs, on the real apps under uvicorn.

The answer service runs with the vLLM stand-in as its LLM, the real search proxy (over the
engine stand-ins) for the web, the Tika stand-in, and the machine's real Redis; figures are
read back from `GET /metrics` with prometheus_client's own text parser. All apps of this
module share one process, hence one metrics registry: tests compare figures before and after.
"""

from __future__ import annotations

import io
import json
import logging
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from core.observability import context
from core.observability.http import serve_metrics
from core.observability.logs import JsonFormatter
from ingest.settings import IngestSettings
from search_proxy.app import create_app as create_proxy
from serving.app import create_app
from serving.settings import ServingSettings
from tests.serving.test_chat import build_data, sdk
from tests.serving.test_chat_web import QUESTION, SOLAR, proxy_settings
from tests.support.databases import REDIS_URL, redis_prefix
from tests.support.processes import ROOT, clean_env
from tests.support.search_engines import EngineStandins
from tests.support.server import free_port, serve
from tests.support.tika_standin import create_tika_standin
from tests.support.vllm_standin import VllmStandin

LEAVE = "How many days of paid annual leave do employees get?"


def sample(base_url: str, name: str, **labels: str) -> float:
    """One sample's value from the service's /metrics (0 when it has not been recorded)."""
    text = httpx.get(f"{base_url}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and all(found.labels.get(k) == v for k, v in labels.items()):
                return float(found.value)
    return 0.0


class HeaderLog:
    """Wraps an ASGI app and keeps each request's X-Request-ID: what the proxy was sent."""

    def __init__(self, app: Any) -> None:
        self.app, self.seen = app, list[str]()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.seen.append(dict(scope["headers"]).get(b"x-request-id", b"").decode())
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def engines() -> Iterator[EngineStandins]:
    standins = EngineStandins()
    with serve(standins.app()) as url:
        standins.url = url  # type: ignore[attr-defined]
        yield standins


@pytest.fixture(scope="module")
def proxy(engines, tmp_path_factory) -> Iterator[tuple[str, HeaderLog]]:
    settings = proxy_settings(engines.url, tmp_path_factory.mktemp("words"))
    logged = HeaderLog(create_proxy(settings))
    with serve(logged) as url:
        yield url, logged


@pytest.fixture(scope="module")
def llm() -> Iterator[tuple[VllmStandin, str]]:
    standin = VllmStandin()
    with serve(standin.app()) as url:
        yield standin, url


@pytest.fixture(scope="module")
def tika_url() -> Iterator[str]:
    with serve(create_tika_standin()) as url:
        yield url


@pytest.fixture(scope="module")
def kb_template(tmp_path_factory, embedder) -> Path:
    return build_data(tmp_path_factory.mktemp("observed"), embedder)


@contextmanager
def served(data: Path, embedder, tika: str, **settings: Any) -> Iterator[str]:
    port = free_port()
    ingest = IngestSettings(data_dir=data, tika={"url": tika})
    app = create_app(ServingSettings(port=port, **settings), ingest, embedder=embedder)
    with serve(app, port=port) as url:
        yield url


@pytest.fixture(scope="module")
def url(kb_template, tmp_path_factory, embedder, proxy, llm, tika_url) -> Iterator[str]:
    """The answer service with every dependency up."""
    data = Path(shutil.copytree(kb_template, tmp_path_factory.mktemp("up") / "data"))
    with served(
        data, embedder, tika_url,
        llm={"base_url": f"{llm[1]}/v1", "model": "base"}, web={"url": proxy[0]},
        redis_url=REDIS_URL, redis_prefix=redis_prefix(),
    ) as url:  # fmt: skip
        yield url


def test_request_ids_are_kept_made_and_returned(url):
    kept = httpx.get(f"{url}/healthz", headers={"X-Request-ID": "client-42"})
    assert kept.headers["x-request-id"] == "client-42"
    made = httpx.get(f"{url}/healthz").headers["x-request-id"]
    assert len(made) == 32
    assert int(made, 16) >= 0
    unsafe = httpx.get(f"{url}/healthz", headers={"X-Request-ID": "a b;c" * 40})
    assert unsafe.headers["x-request-id"] != "a b;c" * 40
    assert len(unsafe.headers["x-request-id"]) == 32


def test_the_request_id_reaches_the_proxy_and_the_llm_but_no_engine(url, proxy, llm, engines):
    engines.reset()
    engines["brave"].reset(results=[SOLAR])
    llm[0].reset()
    ttft = sample(url, "kb_llm_time_to_first_token_seconds_count", model="base")
    with sdk(url) as client:
        chunks = list(
            client.chat.completions.create(
                model="kb/hr+web",
                stream=True,
                messages=[{"role": "user", "content": QUESTION}],
                extra_headers={"X-Request-ID": "chat-77"},
            )
        )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "chat-77" in proxy[1].seen
    assert llm[0].requests[-1].headers["x-request-id"] == "chat-77"
    # Our ids stay inside: a public engine is never told them.
    assert engines["brave"].requests
    assert all("x-request-id" not in seen.headers for seen in engines["brave"].requests)
    assert sample(url, "kb_llm_time_to_first_token_seconds_count", model="base") == ttft + 1
    assert sample(url, "kb_llm_tokens_total", model="base", kind="completion") > 0
    assert sample(url, "kb_llm_tokens_total", model="base", kind="prompt") > 0
    ok = sample(proxy[0], "kb_search_engine_requests_total", engine="brave", outcome="ok")
    assert ok >= 1
    assert sample(proxy[0], "kb_search_engine_duration_seconds_count", engine="brave") >= ok


def test_request_metrics_are_by_route_template_and_status(url):
    labels = {"service": "serving", "method": "GET", "status": "200"}
    route = "/v1/knowledge-bases/{kb}/documents"
    before = sample(url, "kb_http_requests_total", route=route, **labels)
    for kb in ("hr", "finance"):
        assert httpx.get(f"{url}/v1/knowledge-bases/{kb}/documents").status_code == 200
    assert sample(url, "kb_http_requests_total", route=route, **labels) == before + 2
    assert sample(url, "kb_http_request_duration_seconds_count", route=route, **labels) >= 2
    assert httpx.get(f"{url}/no/such/page").status_code == 404
    missing = {"service": "serving", "method": "GET", "status": "404", "route": "unmatched"}
    assert sample(url, "kb_http_requests_total", **missing) >= 1
    # Paths a client made up never become label values.
    assert "/no/such/page" not in httpx.get(f"{url}/metrics").text


def test_answer_cache_hits_and_misses_are_counted(url, llm):
    llm[0].reset()
    hits = sample(url, "kb_answer_cache_lookups_total", result="hit")
    misses = sample(url, "kb_answer_cache_lookups_total", result="miss")
    retrievals = sample(url, "kb_retrieval_duration_seconds_count", mode="hybrid")
    question = f"{LEAVE} ({time.time_ns()})"  # a question no earlier run has cached
    with sdk(url) as client:
        for _ in range(2):
            client.chat.completions.create(
                model="kb/hr", messages=[{"role": "user", "content": question}]
            )
    assert sample(url, "kb_answer_cache_lookups_total", result="miss") == misses + 1
    assert sample(url, "kb_answer_cache_lookups_total", result="hit") == hits + 1
    assert sample(url, "kb_retrieval_duration_seconds_count", mode="hybrid") == retrievals + 1
    assert len(llm[0].requests) == 1


def test_sensitive_word_hits_are_counted_by_stage_and_action(url, proxy, engines):
    engines.reset()
    labels = {"stage": "query", "action": "block"}
    before = sample(proxy[0], "kb_sensitive_word_hits_total", **labels)
    with sdk(url) as client:
        client.chat.completions.create(
            model="kb/hr+web", messages=[{"role": "user", "content": "Is Project Bluebird on?"}]
        )
    assert sample(proxy[0], "kb_sensitive_word_hits_total", **labels) == before + 1
    assert engines["brave"].requests == []


@contextmanager
def json_lines(logger_name: str) -> Iterator[io.StringIO]:
    """What `logger_name` logs meanwhile, as our JSON formatter writes it."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield out
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_an_upload_is_measured_and_its_request_id_leads_to_the_workers_lines(url):
    files = sample(url, "kb_ingest_files_total", outcome="ingested")
    embeds = sample(url, "kb_ingest_stage_duration_seconds_count", stage="embed")
    chunks = sample(url, "kb_ingest_chunks_total")
    jobs = sample(url, "kb_ingest_job_duration_seconds_count")
    text = "Bicycles are parked in the basement. The basement opens at seven."
    upload = {"files": ("bikes.txt", text.encode(), "text/plain")}
    with json_lines("ingest") as logged:
        job = httpx.post(
            f"{url}/v1/knowledge-bases/finance/documents", files=upload,
            headers={"X-Request-ID": "upload-5"},
        ).json()  # fmt: skip
        deadline = time.monotonic() + 60
        while httpx.get(f"{url}/v1/jobs/{job['id']}").json()["status"] != "done":
            assert time.monotonic() < deadline, "the upload was not ingested in 60 s"
            time.sleep(0.1)
    lines = [json.loads(line) for line in logged.getvalue().splitlines()]
    (queued,) = [line for line in lines if line["message"].startswith(f"job {job['id']} queued")]
    assert queued["request_id"] == "upload-5"
    assert queued["user"] == "local"  # who asked: the loopback admin of an app without auth
    worked = [line for line in lines if line.get("request_id") == f"job-{job['id']}"]
    assert any("bikes.txt" in line["message"] for line in worked)
    assert sample(url, "kb_ingest_files_total", outcome="ingested") == files + 1
    assert sample(url, "kb_ingest_stage_duration_seconds_count", stage="embed") == embeds + 1
    assert sample(url, "kb_ingest_stage_duration_seconds_count", stage="parse") >= 1
    assert sample(url, "kb_ingest_chunks_total") == chunks + 1
    assert sample(url, "kb_ingest_job_duration_seconds_count") == jobs + 1
    assert sample(url, "kb_ingest_backlog_files") == 0


def test_readyz_is_ready_when_every_dependency_answers(url, proxy):
    ready = httpx.get(f"{url}/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ready"
    assert body["failed"] == []
    assert body["checks"] == {"database": "ok", "tika": "ok", "redis": "ok", "search_proxy": "ok"}
    proxy_ready = httpx.get(f"{proxy[0]}/readyz", timeout=10).json()
    assert proxy_ready["checks"] == {"engines": "ok", "searxng": "ok"}


def test_readyz_names_the_dependencies_that_are_down(kb_template, tmp_path, embedder):
    data = Path(shutil.copytree(kb_template, tmp_path / "data"))
    down = f"http://127.0.0.1:{free_port()}"
    with served(data, embedder, down, web={"url": f"http://127.0.0.1:{free_port()}"}) as url:
        answer = httpx.get(f"{url}/readyz", timeout=10)
        alive = httpx.get(f"{url}/healthz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["failed"] == ["search_proxy", "tika"]
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["tika"].startswith("failed: ConnectError")
    assert alive.status_code == 200  # liveness never looks at dependencies


def test_a_search_proxy_without_engines_is_not_ready(tmp_path):
    with serve(create_proxy(proxy_settings("http://127.0.0.1:9", tmp_path).model_copy(
        update={"engines": EngineStandins().settings("http://127.0.0.1:9", "none")}
    ))) as url:  # fmt: skip
        body = httpx.get(f"{url}/readyz").json()
    assert body["failed"] == ["engines"]
    assert "no search engine is enabled" in body["checks"]["engines"]


def test_json_log_lines_carry_the_request_id_and_can_leave_values_out():
    logger = logging.getLogger("tests.observability.json")
    logger.propagate = False
    lines = []
    for content in (True, False):
        out = io.StringIO()
        handler = logging.StreamHandler(out)
        handler.setFormatter(JsonFormatter(content=content))
        logger.handlers[:] = [handler]
        token = context.request_id.set("req-9")
        try:
            logger.warning("asked about %s", "the secret merger", extra={"kb": "hr"})
        finally:
            context.request_id.reset(token)
        lines.append(json.loads(out.getvalue()))
    shown, hidden = lines
    assert shown["message"] == "asked about the secret merger"
    assert (shown["level"], shown["logger"], shown["request_id"], shown["kb"]) == (
        "WARNING", "tests.observability.json", "req-9", "hr"
    )  # fmt: skip
    assert hidden["message"] == "asked about %s"
    assert "secret" not in json.dumps(hidden)


def test_the_ingest_worker_serves_metrics_and_logs_json(tmp_path):
    port = free_port()
    env = clean_env(
        KB_DATA_DIR=str(tmp_path / "data"), KB_LOG__FORMAT="json",
        KB_WORKER__METRICS_PORT=str(port),
    )  # fmt: skip
    log = tmp_path / "worker.log"
    with log.open("wb") as sink:
        worker = subprocess.Popen(
            [sys.executable, "-m", "ingest", "worker"], cwd=ROOT, env=env, stdout=sink,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline, metrics = time.monotonic() + 120, ""
        while not metrics:
            assert worker.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            try:
                metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1).text
            except httpx.HTTPError:
                time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert "kb_ingest_backlog_files 0.0" in metrics
    assert "# TYPE kb_ingest_file_duration_seconds histogram" in metrics
    records = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert any(r["logger"] == "ingest.cli" and "ready" in r["message"] for r in records)
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)


def test_a_metrics_port_in_use_is_reported_not_fatal(caplog):
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert serve_metrics(port) is False
    assert f"metrics not served: port {port}" in caplog.text

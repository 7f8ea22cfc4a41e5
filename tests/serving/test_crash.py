"""Killing a real ingesting process leaves nothing half-ingested visible; jobs resume."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from core.store import Where
from tests.support.runtime import open_runtime, paragraphs, write_text
from tests.support.server import free_port

pytestmark = pytest.mark.slow

ENV = {**os.environ, "HF_HUB_OFFLINE": "1"}


def staged(data: Path) -> list[str]:
    db = data / "registry.sqlite3"
    if not db.exists():
        return []
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        try:
            rows = conn.execute("SELECT generation FROM hidden_generations WHERE state='staged'")
            return [row[0] for row in rows]
        except sqlite3.OperationalError:  # schema not written yet
            return []


def wait_until(condition, what: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_killing_kb_ingest_mid_document_leaves_no_half_document(tmp_path, embedder):
    data = tmp_path / "data"
    big = write_text(tmp_path / "docs", "big.txt", paragraphs("annual report", 3000))
    command = ["ingest", str(big), "--kb", "docs", "--data-dir", str(data)]
    process = subprocess.Popen(
        [sys.executable, "-m", "kb", *command],
        env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until(lambda: staged(data), "the ingestion to start writing chunks")
        generation = staged(data)[0]
        time.sleep(1)  # let a few batches land in the store before the kill
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()

    async def inspect() -> tuple[int, int, list[str], int]:
        runtime = await open_runtime(data, embedder)
        try:
            leftover = await runtime.store.count(Where(generation=generation))
            visible = await runtime.store.count(runtime.ingestor.visible(["docs"]))
            documents = [d.source for d in runtime.registry.list_documents("docs")]
            hidden = len(runtime.registry.hidden_generations())
            return leftover, visible, documents, hidden
        finally:
            await runtime.close()

    leftover, visible, documents, hidden = asyncio.run(inspect())
    assert (leftover, visible, documents, hidden) == (0, 0, [], 0)


def test_a_killed_server_resumes_its_job_after_restart(tmp_path):
    data, port = tmp_path / "data", free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "serving",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(data),
    ]

    def start() -> subprocess.Popen[bytes]:
        server = subprocess.Popen(
            command, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_until(lambda: _healthy(url), "the server to answer")
        return server

    server = start()
    try:
        httpx.post(f"{url}/v1/knowledge-bases", json={"name": "docs"}).raise_for_status()
        files = [
            ("files", (f"part{i}.txt", "\n\n".join(paragraphs(f"topic {i}", 400)).encode()))
            for i in range(3)
        ]
        job = httpx.post(f"{url}/v1/knowledge-bases/docs/documents", files=files, timeout=60).json()
        wait_until(lambda: staged(data), "the job to start writing chunks")
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()

    server = start()
    try:

        def finished() -> bool:
            status = httpx.get(f"{url}/v1/jobs/{job['id']}").json()["status"]
            return status in ("done", "failed")

        wait_until(finished, "the resumed job to finish", timeout_s=300)
        result = httpx.get(f"{url}/v1/jobs/{job['id']}").json()
        assert result["status"] == "done"
        assert [f["outcome"] for f in result["files"]] == ["ingested"] * 3
        docs = httpx.get(f"{url}/v1/knowledge-bases/docs/documents").json()["data"]
        assert sorted(d["source"] for d in docs) == ["part0.txt", "part1.txt", "part2.txt"]
        assert httpx.get(f"{url}/v1/knowledge-bases/docs").json()["chunks"] == sum(
            d["chunks"] for d in docs
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False

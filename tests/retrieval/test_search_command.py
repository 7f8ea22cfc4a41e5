"""`kb search` in this process and through a running server."""

from __future__ import annotations

import asyncio
from pathlib import Path

from click.testing import CliRunner

from ingest.outcome import NullProgress
from ingest.settings import IngestSettings
from kb.cli import cli
from serving.app import create_app
from serving.settings import ServingSettings
from tests.support import documents
from tests.support.runtime import open_runtime, write_text
from tests.support.server import free_port, serve


def make_data(tmp_path: Path, embedder) -> Path:
    return asyncio.run(_make_data(tmp_path, embedder))


async def _make_data(tmp_path: Path, embedder) -> Path:
    data = tmp_path / "data"
    runtime = await open_runtime(data, embedder)
    runtime.registry.create_kb("hr")
    leave = write_text(tmp_path, "leave.txt", ["Employees receive twenty-five days of paid leave."])
    await runtime.ingestor.ingest("hr", leave, "leave.txt", NullProgress())
    pdf = documents.text_pdf(tmp_path / "report.pdf")
    await runtime.ingestor.ingest("hr", pdf, "report.pdf", NullProgress())
    await runtime.close()
    return data


def run_search(data: Path, *args: str) -> str:
    result = CliRunner().invoke(
        cli, ["search", *args, "--kb", "hr", "--data-dir", str(data)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_search_prints_ranked_passages(tmp_path, embedder):
    data = make_data(tmp_path, embedder)
    output = run_search(data, "days of paid leave", "--top-k", "2")
    rows = [line for line in output.splitlines() if "│" in line and "score" not in line]
    assert "twenty-five days" in rows[0]
    assert "leave.txt" in rows[1]  # the source, under the title
    assert "Known Title" in run_search(data, "Page two beta", "--mode", "sparse")


def test_search_goes_through_the_server_that_owns_the_folder(tmp_path, embedder):
    data = make_data(tmp_path, embedder)
    port = free_port()
    app = create_app(ServingSettings(port=port), IngestSettings(data_dir=data), embedder=embedder)
    with serve(app, port=port):
        output = run_search(data, "days of paid leave", "--top-k", "1")
    assert "leave.txt" in output


def test_search_of_an_unknown_knowledge_base_fails_clearly(tmp_path):
    result = CliRunner().invoke(cli, ["search", "x", "--kb", "nope", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "unknown knowledge base" in result.output

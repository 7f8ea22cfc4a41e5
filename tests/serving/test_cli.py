"""`kb ingest` as a user runs it: a real process, alone or beside a running server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from ingest.datafolder import DataFolder
from ingest.settings import IngestSettings
from serving.app import create_app
from serving.settings import ServingSettings
from tests.support.runtime import paragraphs, write_text
from tests.support.server import free_port, serve


def kb(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "kb", *map(str, args)],
        capture_output=True, text=True, timeout=timeout, env=env,
    )  # fmt: skip


def make_folder(root: Path) -> Path:
    docs = root / "docs"
    write_text(docs, "handbook.md", ["# Handbook", *paragraphs("leave policy", 12)])
    write_text(docs, "sub/notes.txt", paragraphs("meeting notes", 6))
    (docs / "empty.txt").write_bytes(b"")
    (docs / ".hidden.txt").write_text("not me")
    return docs


def test_ingest_a_folder_then_again(tmp_path):
    docs = make_folder(tmp_path)
    data = tmp_path / "data"
    first = kb("ingest", docs, tmp_path / "missing.pdf", "--kb", "hr", "--data-dir", data)
    assert first.returncode == 1, first.stderr
    out = first.stdout
    assert "handbook.md" in out
    assert "sub/notes.txt" in out
    assert "the file is empty" in out
    assert "missing.pdf" in out
    assert "no such file or folder" in out
    assert ".hidden" not in out
    assert "ingested 2" in out
    assert "failed 2" in out

    (docs / "empty.txt").unlink()
    write_text(docs, "sub/notes.txt", paragraphs("rescheduled meeting notes", 6))
    write_text(docs, "copy.md", ["# Handbook", *paragraphs("leave policy", 12)])
    second = kb("ingest", docs, "--kb", "hr", "--data-dir", data)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "replaced 1" in second.stdout
    assert "unchanged 1" in second.stdout
    assert "duplicate 1" in second.stdout


def test_ingest_goes_through_the_server_that_owns_the_folder(tmp_path, embedder):
    docs = make_folder(tmp_path)
    (docs / "empty.txt").unlink()
    data, port = tmp_path / "data", free_port()
    app = create_app(ServingSettings(port=port), IngestSettings(data_dir=data), embedder=embedder)
    with serve(app, port=port) as url:
        result = kb("ingest", docs, "--kb", "hr", "--data-dir", data)
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"data folder in use by the server at {url}" in result.stdout
        assert "ingested 2" in result.stdout
        listed = httpx.get(f"{url}/v1/knowledge-bases/hr/documents").json()["data"]
        assert sorted(d["source"] for d in listed) == ["handbook.md", "sub/notes.txt"]


def test_ingest_refuses_a_folder_held_by_a_process_without_a_server(tmp_path):
    docs = make_folder(tmp_path)
    holder = DataFolder(tmp_path / "data")
    holder.claim()
    try:
        result = kb("ingest", docs, "--kb", "hr", "--data-dir", tmp_path / "data")
    finally:
        holder.release()
    assert result.returncode == 2
    assert f"in use by PID {os.getpid()}" in result.stdout

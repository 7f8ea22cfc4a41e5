"""Every knowledge request of the real app is audited, and the log is read back and verified.

The app runs under uvicorn on an ingested data folder; questions go through the real `openai`
SDK, the log is read over `GET /v1/audit` and with `kb audit`, and tampered with in SQLite.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from click.testing import CliRunner

from core.db.engine import SQLITE_FILE
from kb.cli import cli
from serving.audit.recorder import entry_for
from tests.serving.test_chat import build_data, sdk, served

QUESTION = "How long can parental leave be? Call me on 138 1234 5678."


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:
    return build_data(tmp_path_factory.mktemp("audit"), embedder)


@pytest.fixture
def data(template: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(template, tmp_path / "data"))


def audit(url: str, **params) -> list[dict]:
    response = httpx.get(f"{url}/v1/audit", params=params)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_answers_retrievals_and_admin_actions_are_recorded(data, embedder):
    with served(data, embedder, audit={"question_text": True}) as url, sdk(url) as client:
        client.chat.completions.create(
            model="kb/hr", messages=[{"role": "user", "content": QUESTION}]
        )
        client.chat.completions.create(  # the same again: served from the answer cache
            model="kb/hr", messages=[{"role": "user", "content": QUESTION}]
        )
        stream = client.chat.completions.create(
            model="kb/finance", messages=[{"role": "user", "content": "Taxi rules?"}], stream=True
        )
        assert list(stream)
        found = httpx.post(
            f"{url}/v1/retrieve", json={"query": "passwords", "knowledge_bases": ["hr"]}
        ).json()["data"]
        httpx.get(f"{url}/v1/models")  # not knowledge: not recorded
        missing = httpx.delete(f"{url}/v1/knowledge-bases/nope")
        assert missing.status_code == 404
        records = audit(url)
        jsonl = httpx.get(f"{url}/v1/audit", params={"format": "jsonl", "kb": "hr"})
    chat, cached, streamed, retrieved, deletion = records
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5]
    assert chat["route"] == "/v1/chat/completions"
    assert chat["kind"] == "request"
    assert chat["kbs"] == ["hr"]
    assert chat["status"] == 200
    assert chat["outcome"] == "ok"
    assert chat["client"] == "127.0.0.1"
    assert chat["latency_ms"] > 0
    assert chat["question_hash"] == hashlib.sha256(QUESTION.encode()).hexdigest()
    assert chat["question"] == "How long can parental leave be? Call me on [PHONE]."
    assert chat["retrieved"]
    assert all("#" in ref for ref in chat["retrieved"])
    assert chat["cited"]
    assert set(chat["cited"]) <= set(chat["retrieved"])
    assert chat["model"] == "kb/hr"
    assert cached["outcome"] == "cached"
    assert cached["cited"]
    assert cached["question_hash"] == chat["question_hash"]
    assert streamed["kbs"] == ["finance"]
    assert streamed["cited"]
    assert retrieved["route"] == "/v1/retrieve"
    assert retrieved["retrieved"] == [f"{h['document_id']}#{h['chunk_index']}" for h in found]
    assert deletion["kind"] == "admin"
    assert deletion["status"] == 404
    assert deletion["route"] == "/v1/knowledge-bases/{kb}"
    assert deletion["kbs"] == ["nope"]
    lines = [json.loads(line) for line in jsonl.text.splitlines()]
    assert [r["seq"] for r in lines] == [1, 2, 4]


def test_search_by_document_and_the_cli_verify_finds_tampering(data, embedder):
    with served(data, embedder) as url, sdk(url) as client:
        client.chat.completions.create(
            model="kb/hr", messages=[{"role": "user", "content": "Remote work days?"}]
        )
        first = audit(url)[0]
        assert first["question"] is None  # only the hash unless configured
        document = first["cited"][0].split("#")[0]
        assert [r["seq"] for r in audit(url, document=document)] == [1]
        assert audit(url, document="no-such-document") == []
        assert audit(url, kb="finance") == []
    runner = CliRunner()
    intact = runner.invoke(cli, ["audit", "verify", "--data-dir", str(data)])
    assert intact.exit_code == 0, intact.output
    assert "intact: 5 records" in intact.output  # the question and the four audit reads
    exported = runner.invoke(cli, ["audit", "export", "--kb", "hr", "--data-dir", str(data)])
    assert [json.loads(line)["seq"] for line in exported.output.splitlines()] == [1]
    with sqlite3.connect(data / SQLITE_FILE) as conn:
        conn.execute("UPDATE audit_log SET kbs = '[\"finance\"]' WHERE seq = 1")
    broken = runner.invoke(cli, ["audit", "verify", "--data-dir", str(data)])
    assert broken.exit_code == 1
    assert "record #1 edited" in broken.output


def test_the_principal_authentication_leaves_is_recorded():
    # The glue to authentication: whatever object it puts on request.state.principal.
    principal = SimpleNamespace(user_id="alice", key_id="k_12", subject=None, scopes=["read"])
    scope = {
        "type": "http", "method": "POST", "path": "/v1/retrieve", "client": ("10.1.2.3", 5555),
        "state": {"principal": principal},
    }  # fmt: skip
    entry = entry_for(scope, 200, 3.5, question_text=False)
    assert (entry.actor_user, entry.actor_key, entry.client) == ("alice", "k_12", "10.1.2.3")

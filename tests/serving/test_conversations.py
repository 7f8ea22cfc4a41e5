"""Conversations over real HTTP: the app under uvicorn with auth on, real keys, the `openai` SDK.

Two users keep conversations by sending a conversation id (body field or header), each sees
and changes only their own, and deleting a user erases their conversations, the texts of
their ratings and their identity in the audit log, whose chain still verifies.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam
from sqlalchemy import select

from core.audit import verify
from core.auth import Level
from core.auth.directory import Directory
from core.auth.grants import Grants
from core.auth.settings import AuthSettings
from core.db.engine import Database, database_url
from core.db.schema import audit_log, feedback
from core.embeddings import Embedder
from ingest.settings import IngestSettings
from serving.app import create_app
from serving.conversations.store import ConversationStore
from serving.settings import ServingSettings
from tests.support.runtime import ingest_texts
from tests.support.server import free_port, serve

LEAVE = "Employees receive 25 days of paid annual leave per calendar year."


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    """One knowledge base both users read; alice, bob and an admin with keys."""
    return ingest_texts(tmp_path_factory.mktemp("conversations"), embedder, {"hr": [LEAVE]})


@pytest.fixture(scope="module")
def keys(data: Path) -> dict[str, str]:
    db = Database(database_url(None, data))
    try:
        directory, grants = Directory(db), Grants(db)
        for user in ("alice", "bob"):
            directory.add_user(user)
            grants.set("hr", "user", user, Level.READ)
        directory.add_user("root", is_admin=True)
        return {
            user: directory.create_key(
                user, ["read", "admin"] if user == "root" else ["read"]
            ).token
            for user in ("alice", "bob", "root")
        }
    finally:
        db.close()


@pytest.fixture(scope="module")
def url(data: Path, keys: dict[str, str], embedder: Embedder) -> Iterator[str]:
    port = free_port()
    settings = ServingSettings(port=port, auth=AuthSettings(enabled=True))
    app = create_app(settings, IngestSettings(data_dir=data), embedder=embedder)
    with serve(app, port=port) as url:
        yield url


def sdk(url: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=60)


def http(url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60)


def ask(client: openai.OpenAI, question: str, conversation: str, *, stream: bool = False) -> str:
    extra = {"conversation_id": conversation}
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": question}]
    if not stream:
        answer = client.chat.completions.create(model="kb/hr", messages=messages, extra_body=extra)
        return answer.choices[0].message.content or ""
    chunks = client.chat.completions.create(
        model="kb/hr", messages=messages, extra_body=extra, stream=True
    )
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_each_user_keeps_and_sees_only_their_own_conversations(url, keys):
    with sdk(url, keys["alice"]) as alice, http(url, keys["alice"]) as alice_http:
        first = ask(alice, "How many days of paid leave?", "c-a1")
        assert "25 days" in first
        streamed = ask(alice, "Is annual leave paid?", "c-a1", stream=True)
        assert streamed
        by_header = alice_http.post(
            "/v1/chat/completions",
            headers={"X-Conversation-ID": "c-a2"},
            json={"model": "kb/hr", "messages": [{"role": "user", "content": "Leave per year?"}]},
        )
        assert by_header.status_code == 200
        listed = alice_http.get("/v1/conversations").json()
        assert [c["id"] for c in listed] == ["c-a2", "c-a1"]
        detail = alice_http.get("/v1/conversations/c-a1").json()
        assert detail["title"] == "How many days of paid leave?"
        assert [(t["role"], t["content"]) for t in detail["turns"]] == [
            ("user", "How many days of paid leave?"), ("assistant", first),
            ("user", "Is annual leave paid?"), ("assistant", streamed.strip()),
        ]  # fmt: skip

    with sdk(url, keys["bob"]) as bob, http(url, keys["bob"]) as bob_http:
        # bob cannot read, rename, delete or write into alice's conversation: all 404
        assert bob_http.get("/v1/conversations").json() == []
        assert bob_http.get("/v1/conversations/c-a1").status_code == 404
        assert bob_http.patch("/v1/conversations/c-a1", json={"title": "x"}).status_code == 404
        assert bob_http.delete("/v1/conversations/c-a1").status_code == 404
        with pytest.raises(openai.NotFoundError):
            ask(bob, "How many days of paid leave?", "c-a1")
        ask(bob, "How many days of paid leave?", "c-b1")
        assert [c["id"] for c in bob_http.get("/v1/conversations").json()] == ["c-b1"]

    with http(url, keys["alice"]) as alice_http:
        assert len(alice_http.get("/v1/conversations/c-a1").json()["turns"]) == 4
        renamed = alice_http.patch("/v1/conversations/c-a1", json={"title": "Leave"})
        assert renamed.status_code == 200
        assert renamed.json()["title"] == "Leave"
        assert alice_http.delete("/v1/conversations/c-a2").status_code == 204
        assert alice_http.get("/v1/conversations/c-a2").status_code == 404
        assert [c["id"] for c in alice_http.get("/v1/conversations").json()] == ["c-a1"]
        spec = alice_http.get("/openapi.json").json()
        assert set(spec["paths"]["/v1/conversations/{conversation_id}"]) == {
            "get", "patch", "delete"
        }  # fmt: skip
        chat = spec["components"]["schemas"]["ChatCompletionRequest"]["properties"]
        assert "conversation_id" in chat


def test_deleting_a_user_erases_conversations_feedback_texts_and_audit_identity(url, keys, data):
    with http(url, keys["alice"]) as alice_http:
        asked = alice_http.post(
            "/v1/chat/completions",
            json={
                "model": "kb/hr", "conversation_id": "c-a3",
                "messages": [{"role": "user", "content": "How many days of paid leave?"}],
            },
        )  # fmt: skip
        assert asked.json()["cached"] is True  # asked before in this module
        answer = asked.json()["choices"][0]["message"]["content"]
        rated = alice_http.post("/v1/feedback", json={
            "question": "How many days of paid leave?", "answer": answer, "rating": 5,
            "comment": "alice liked it",
        })  # fmt: skip
        assert rated.status_code == 201
        # answered from the answer cache, and kept all the same
        kept = alice_http.get("/v1/conversations/c-a3").json()["turns"]
        assert [t["content"] for t in kept] == ["How many days of paid leave?", answer]
    with sdk(url, keys["bob"]) as bob:
        ask(bob, "How many days of paid leave?", "c-b2")
    with http(url, keys["root"]) as root:
        assert root.get("/v1/audit", params={"user": "alice"}).json()["data"]
        assert root.delete("/v1/users/alice").status_code == 204
        assert root.get("/v1/audit", params={"user": "alice"}).json()["data"] == []
        exported = root.get("/v1/audit", params={"format": "jsonl", "limit": 10000}).text
        records = [json.loads(line) for line in exported.splitlines()]
        assert not [r for r in records if "alice" in json.dumps(r)]
        [erasure] = [r for r in records if r["route"] == "erasure"]
        pseudonym = erasure["detail"]["pseudonym"]
        assert any(r["actor_user"] == pseudonym for r in records)
        [deletion] = [r for r in records if r["route"] == "/v1/users/{name}"]
        assert deletion["detail"]["params"] == {"name": pseudonym}  # not alice
        assert any(r["actor_user"] == "bob" for r in records)  # only alice's records changed
    with http(url, keys["bob"]) as bob_http:
        assert "c-b2" in [c["id"] for c in bob_http.get("/v1/conversations").json()]
    with http(url, keys["alice"]) as gone:
        assert gone.get("/v1/conversations").status_code == 401  # her keys went with her

    db = Database(database_url(None, data))
    try:
        report = verify(db)
        assert report.ok, report.problems
        with db.read() as conn:
            rows = conn.execute(select(feedback)).mappings().all()
            texts = conn.execute(select(audit_log.c.actor_user, audit_log.c.detail)).all()
        assert ConversationStore(db).of_user("alice") == []
    finally:
        db.close()
    [row] = rows
    assert (row["question"], row["answer"], row["comment"], row["user_name"]) == ("", "", "", None)
    assert row["rating"] == 5
    assert not any(user == "alice" for user, _ in texts)
    assert any(json.loads(detail).get("pseudonym") for _, detail in texts)

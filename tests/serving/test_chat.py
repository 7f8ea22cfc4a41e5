"""Cited answers without an LLM (the embedded default), through the real `openai` SDK.

A data folder is ingested once per module with the real runtime; each test serves the real app
under uvicorn on it and asks with `openai.OpenAI`.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from click.testing import CliRunner

from core.embeddings import Embedder
from ingest.outcome import NullProgress, Outcome
from ingest.settings import IngestSettings
from kb.cli import cli
from serving.app import create_app
from serving.settings import ServingSettings
from tests.support.documents import text_pdf
from tests.support.runtime import open_runtime, write_text
from tests.support.server import free_port, serve

HANDBOOK = [
    "# Leave policy",
    "Employees receive 25 days of paid annual leave per calendar year. Unused leave days can "
    "be carried over until the end of March.",
    "## Parental leave",
    "Parents are entitled to 16 weeks of parental leave at full pay. The parental leave can "
    "start up to four weeks before the expected birth.",
    "## Remote work",
    "Staff may work remotely up to three days per week with the approval of their manager. "
    "Equipment for home offices is provided by the IT department.",
]
SECURITY_PAGES = [
    ["Security handbook", "Rules for every employee of the company."],
    ["Passwords must be at least 14 characters long.", "Passwords are rotated every 90 days."],
    ["Lost laptops must be reported to the security desk within one hour."],
]
EXPENSES = [
    "Travel expenses must be submitted within 30 days of the end of the trip.",
    "Meals on business trips are reimbursed up to 50 euros per day.",
    "Taxis are reimbursed only when no public transport is available.",
]
MARKER = re.compile(r"\[(\d+)\]")


def build_data(folder: Path, embedder: Embedder) -> Path:
    """Knowledge bases hr (a Markdown handbook, a 3-page PDF), finance (a text file), empty."""
    docs, data = folder / "docs", folder / "data"
    files = {
        "hr": [write_text(docs, "handbook.md", HANDBOOK), text_pdf(docs / "security.pdf", SECURITY_PAGES, title="Security handbook")],  # noqa: E501
        "finance": [write_text(docs, "expenses.txt", EXPENSES)],
    }  # fmt: skip

    async def ingest() -> None:
        runtime = await open_runtime(data, embedder)
        try:
            runtime.registry.create_kb("empty")
            for kb, paths in files.items():
                runtime.registry.create_kb(kb)
                for path in paths:
                    result = await runtime.ingestor.ingest(kb, path, path.name, NullProgress())
                    assert result.outcome is Outcome.INGESTED, result
        finally:
            await runtime.close()

    docs.mkdir(parents=True, exist_ok=True)
    asyncio.run(ingest())
    return data


@pytest.fixture(scope="module")
def kb_template(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:
    """Ingested once per module; never opened again, only copied."""
    return build_data(tmp_path_factory.mktemp("chat"), embedder)


@pytest.fixture
def kb_data(kb_template: Path, tmp_path: Path) -> Path:
    """A private copy of the ingested data folder, for a test that runs its own server."""
    return Path(shutil.copytree(kb_template, tmp_path / "data"))


@contextmanager
def served(data: Path, embedder: Embedder, **settings: Any) -> Iterator[str]:
    """The app on `data` under uvicorn; yields its URL."""
    port = free_port()
    app = create_app(
        ServingSettings(port=port, **settings), IngestSettings(data_dir=data), embedder=embedder
    )
    with serve(app, port=port) as url:
        yield url


def sdk(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=60)


def assert_consistent(text: str, citations: list[dict[str, Any]]) -> None:
    """Markers are 1..n in order of first appearance and each has its citation."""
    seen = list(dict.fromkeys(int(n) for n in MARKER.findall(text)))
    assert seen == list(range(1, len(seen) + 1))
    assert [c["number"] for c in citations] == seen


@pytest.fixture(scope="module")
def url(kb_template: Path, tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[str]:
    """One server for the tests that only ask, on its own copy of the data."""
    data = shutil.copytree(kb_template, tmp_path_factory.mktemp("shared") / "data")
    with served(Path(data), embedder) as url:
        yield url


@pytest.fixture(scope="module")
def client(url: str) -> Iterator[openai.OpenAI]:
    with sdk(url) as client:
        yield client


def ask(client: openai.OpenAI, question: str, model: str = "kb/hr") -> Any:
    return client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": question}]
    )


def test_models_are_the_knowledge_bases(client):
    models = client.models.list().data
    assert [m.id for m in models] == ["kb/empty", "kb/finance", "kb/hr"]
    assert {(m.object, m.owned_by) for m in models} == {("model", "kb")}


def test_extractive_answer_quotes_and_cites_the_right_passage(client):
    answer = ask(client, "How many days of paid annual leave do employees get?")
    text = answer.choices[0].message.content
    assert text.startswith("Employees receive 25 days of paid annual leave per calendar year. [1]")
    extra = answer.model_extra
    assert extra["warnings"] == ["extractive: no LLM configured"]
    assert_consistent(text, extra["citations"])
    first = extra["citations"][0]
    assert (first["kb"], first["source"], first["page"]) == ("hr", "handbook.md", 1)
    assert first["title"] == "Leave policy"
    assert set(first) == {
        "type", "number", "kb", "document_id", "title", "source", "page", "char_start", "char_end",
        "ocr", "snippet", "score", "supported", "support",
    }  # fmt: skip
    assert first["ocr"] is False  # a Markdown file: nothing was recognised from a scan
    assert "25 days" in first["snippet"]
    assert answer.object == "chat.completion"
    assert answer.model == "kb/hr"


def test_a_pdf_answer_cites_its_page(client):
    answer = ask(client, "How often are passwords rotated?")
    assert "every 90 days" in answer.choices[0].message.content
    cited = [(c["source"], c["page"]) for c in answer.model_extra["citations"]]
    assert cited[0] == ("security.pdf", 2)


def test_streaming_with_the_sdk_ends_with_a_citations_chunk(client):
    stream = client.chat.completions.create(
        model="kb/hr", stream=True,
        messages=[{"role": "user", "content": "Who must be told about a lost laptop?"}],
    )  # fmt: skip
    chunks = list(stream)
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "security desk within one hour" in content
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-2].choices[0].finish_reason == "stop"
    last = chunks[-1]
    assert last.choices == []
    assert last.object == "chat.completion.chunk"
    assert {c.id for c in chunks} == {last.id}
    citations = last.model_extra["citations"]
    assert_consistent(content, citations)
    assert (citations[0]["source"], citations[0]["page"]) == ("security.pdf", 3)
    assert last.model_extra["warnings"] == ["extractive: no LLM configured"]


def test_several_knowledge_bases_in_one_model(client):
    answer = ask(client, "Up to how much are meals reimbursed per day?", model="kb/hr+finance")
    assert "50 euros per day" in answer.choices[0].message.content
    assert answer.model_extra["citations"][0]["kb"] == "finance"


def test_nothing_found_says_so_without_citations(client):
    for model, question in [
        ("kb/empty", "How many days of leave?"),
        ("kb/finance", "Which volcano erupted in Iceland during the last ice age?"),
    ]:
        answer = ask(client, question, model=model)
        assert answer.choices[0].message.content == "The knowledge base does not say."
        assert answer.model_extra["citations"] == []


def test_errors_come_in_the_openai_envelope(kb_data, embedder):
    limits = {"max_message_chars": 200}
    with served(kb_data, embedder, chat=limits) as url, sdk(url) as client:
        with pytest.raises(openai.NotFoundError, match="nope"):
            ask(client, "hi", model="kb/hr+nope")
        with pytest.raises(openai.NotFoundError, match="unknown model"):
            ask(client, "hi", model="gpt-4o")
        bad_messages: list[list[dict[str, str]]] = [
            [],
            [{"role": "user", "content": "  "}],
            [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
            [{"role": "user", "content": "x" * 201}],
        ]
        for messages in bad_messages:
            with pytest.raises(openai.BadRequestError) as caught:
                client.chat.completions.create(model="kb/hr", messages=messages)  # type: ignore[arg-type]
            assert caught.value.body["type"] == "invalid_request_error"  # type: ignore[index]
        unreadable = httpx.post(f"{url}/v1/chat/completions", content=b"{nope")
        assert unreadable.status_code == 422
        assert unreadable.json()["error"]["type"] == "invalid_request_error"
        no_messages = httpx.post(f"{url}/v1/chat/completions", json={"model": "kb/hr"})
        assert no_messages.status_code == 422


def test_kb_ask_in_process_and_through_the_running_server(kb_data, embedder):
    args = ["ask", "How long can parental leave be?", "--kb", "hr", "--data-dir", str(kb_data)]
    alone = CliRunner().invoke(cli, args)
    assert alone.exit_code == 0, alone.output
    with served(kb_data, embedder):
        remote = CliRunner().invoke(cli, args)
        missing = CliRunner().invoke(cli, [*args[:2], "--kb", "nope", *args[4:]])
    assert remote.exit_code == 0, remote.output
    for result in (alone, remote):
        assert "16 weeks of parental leave at full pay. [1]" in result.stdout
        assert "Sources:\n  [1] Leave policy, page 1 (handbook.md)" in result.stdout
        assert "note: extractive: no LLM configured" in result.stderr
    assert missing.exit_code == 2
    assert "unknown knowledge base(s): nope" in missing.stderr

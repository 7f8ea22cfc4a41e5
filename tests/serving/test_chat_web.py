"""Search-augmented answers: the real app and `openai` SDK, the real search proxy over engine
stand-ins, and the vLLM stand-in where an LLM writes the answer."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from click.testing import CliRunner

from ingest.settings import IngestSettings
from kb.cli import cli
from search_proxy.app import create_app as create_proxy
from search_proxy.settings import FilterSettings, SearchProxySettings
from serving.app import create_app
from serving.settings import ServingSettings
from tests.serving.test_chat import build_data, sdk, served
from tests.support.search_engines import EngineStandins, Page
from tests.support.server import free_port, serve
from tests.support.vllm_standin import VllmStandin

SOLAR = Page(
    "https://energy.example/solar",
    "How solar panels work",
    "Solar panels turn sunlight into electricity with silicon cells.",
)
WIND = Page("https://www.wind.example/turbines", "Wind turbines", "Turbines turn wind into power.")
QUESTION = "How do solar panels turn sunlight into electricity?"


@pytest.fixture(scope="module")
def engines() -> Iterator[tuple[EngineStandins, str]]:
    standins = EngineStandins()
    with serve(standins.app()) as url:
        yield standins, url


@pytest.fixture
def standins(engines) -> EngineStandins:
    engines[0].reset()
    engines[0]["brave"].reset(results=[SOLAR, WIND])
    engines[0]["searxng"].reset(results=[WIND, SOLAR])
    return engines[0]


def proxy_settings(engines_url: str, tmp_path: Path) -> SearchProxySettings:
    words = tmp_path / "words.txt"
    words.write_text("Project Bluebird\tconfidential\n", encoding="utf-8")
    return SearchProxySettings(
        engines=EngineStandins().settings(engines_url, "brave", "searxng"),
        filter=FilterSettings(words_file=words),
    )


@pytest.fixture(scope="module")
def proxy_url(engines, tmp_path_factory) -> Iterator[str]:
    with serve(create_proxy(proxy_settings(engines[1], tmp_path_factory.mktemp("words")))) as url:
        yield url


@pytest.fixture(scope="module")
def kb_template(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:
    return build_data(tmp_path_factory.mktemp("chat-web"), embedder)


@pytest.fixture
def kb_data(kb_template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(kb_template, tmp_path / "data"))


@pytest.fixture(scope="module")
def client(kb_template, tmp_path_factory, embedder, proxy_url) -> Iterator[openai.OpenAI]:
    data = Path(shutil.copytree(kb_template, tmp_path_factory.mktemp("web") / "data"))
    with served(data, embedder, web={"url": proxy_url}) as url, sdk(url) as client:
        yield client


def ask(client: openai.OpenAI, question: str, model: str = "kb/hr+web", **kwargs: Any) -> Any:
    messages = [{"role": "user", "content": question}]
    return client.chat.completions.create(model=model, messages=messages, **kwargs)  # type: ignore[arg-type]


def web_citations(answer: Any) -> list[dict[str, Any]]:
    return [c for c in answer.model_extra["citations"] if c["type"] == "web"]


def test_models_offer_each_knowledge_base_with_and_without_the_web(client, standins):
    ids = [m.id for m in client.models.list().data]
    assert ids == ["kb/empty", "kb/empty+web", "kb/finance", "kb/finance+web", "kb/hr", "kb/hr+web"]


def test_a_web_answer_cites_urls_and_titles(client, standins):
    answer = ask(client, QUESTION)
    assert "silicon cells" in answer.choices[0].message.content
    (solar,) = [c for c in web_citations(answer) if c["url"] == SOLAR.url]
    assert solar["title"] == SOLAR.title
    assert solar["engines"] == ["searxng", "brave"]  # configuration order
    assert "sunlight into electricity" in solar["snippet"]
    assert standins["brave"].requests[0].query == QUESTION


def test_web_search_can_be_asked_for_in_the_body(client, standins):
    question = "What do the silicon cells of solar panels do?"  # not cached by the proxy yet
    answer = ask(client, question, model="kb/hr", extra_body={"web_search": True})
    assert web_citations(answer)
    plain = ask(client, "How many days of paid annual leave do employees get?", model="kb/hr")
    assert web_citations(plain) == []
    assert len(standins["brave"].requests) == 1  # the plain question never went out


def test_a_blocked_question_is_answered_from_the_knowledge_base_only(client, standins):
    answer = ask(client, "Does Project Bluebird change the annual leave days?")
    assert web_citations(answer) == []
    assert any("must not leave the organisation" in w for w in answer.model_extra["warnings"])
    assert standins["brave"].requests == []
    assert "25 days" in answer.choices[0].message.content


def test_streamed_answers_end_with_web_citations(client, standins):
    chunks = list(ask(client, QUESTION, stream=True))
    citations = chunks[-1].model_extra["citations"]
    assert SOLAR.url in {c["url"] for c in citations if c["type"] == "web"}


def test_when_the_proxy_is_down_the_knowledge_base_still_answers(kb_data, embedder):
    down = f"http://127.0.0.1:{free_port()}"
    with served(kb_data, embedder, web={"url": down}) as url, sdk(url) as client:
        answer = ask(client, "How many days of paid annual leave do employees get?")
    assert "25 days" in answer.choices[0].message.content
    assert answer.model_extra["citations"][0]["type"] == "document"
    (warning,) = [w for w in answer.model_extra["warnings"] if w.startswith("web search")]
    assert "unavailable, answered from the knowledge base" in warning


def test_without_a_proxy_url_the_proxy_runs_in_process(
    kb_data, embedder, engines, standins, tmp_path
):
    port = free_port()
    app = create_app(
        ServingSettings(port=port), IngestSettings(data_dir=kb_data), embedder=embedder,
        search=proxy_settings(engines[1], tmp_path),
    )  # fmt: skip
    with serve(app, port=port) as url, sdk(url) as client:
        answer = ask(client, QUESTION)
    assert SOLAR.url in {c["url"] for c in web_citations(answer)}


def test_an_llm_sees_web_results_numbered_after_the_passages(
    kb_data, embedder, proxy_url, standins
):
    llm = VllmStandin()

    def reply(messages: list[dict[str, Any]]) -> str:
        prompt = messages[-1]["content"]
        number = next(
            line.split("]")[0].lstrip("[")
            for line in prompt.splitlines()
            if line.endswith(f"(web: {SOLAR.url}):")
        )
        return f"Silicon cells turn sunlight into electricity [{number}]."

    llm.reset(reply=reply)
    with serve(llm.app()) as llm_url:
        settings = {"web": {"url": proxy_url}, "llm": {"base_url": f"{llm_url}/v1"}}
        with served(kb_data, embedder, **settings) as url, sdk(url) as client:
            answer = ask(client, QUESTION)
    prompt = llm.requests[-1].prompt
    assert prompt.index(", page ") < prompt.index("(web: ")  # passages first, then the web
    assert answer.choices[0].message.content == (
        "Silicon cells turn sunlight into electricity [1]."
    )
    (cited,) = answer.model_extra["citations"]
    assert (cited["type"], cited["url"], cited["title"]) == ("web", SOLAR.url, SOLAR.title)


def test_kb_ask_with_web_prints_urls(kb_data, engines, standins, monkeypatch):
    monkeypatch.setenv("KB_SEARCH_ENGINES__SEARXNG__ENABLED", "true")
    monkeypatch.setenv("KB_SEARCH_ENGINES__SEARXNG__URL", f"{engines[1]}/searxng/search")
    args = ["ask", QUESTION, "--kb", "hr", "--web", "--data-dir", str(kb_data)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert f"({SOLAR.url})" in result.output

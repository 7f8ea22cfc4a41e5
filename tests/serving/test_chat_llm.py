"""Answers from an LLM: a loopback stand-in for vLLM's OpenAI server, the real app and SDK."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.serving.test_chat import assert_consistent, build_data, sdk, served
from tests.support.server import serve
from tests.support.vllm_standin import VllmStandin

LEAVE = "How many days of paid annual leave do employees get?"


@pytest.fixture(scope="module")
def standin() -> Iterator[tuple[VllmStandin, str]]:
    server = VllmStandin()
    with serve(server.app()) as url:
        yield server, url


@pytest.fixture(scope="module")
def kb_template(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:
    return build_data(tmp_path_factory.mktemp("chat-llm"), embedder)


@pytest.fixture(scope="module")
def app_url(kb_template, tmp_path_factory, embedder, standin) -> Iterator[str]:
    """The app with the stand-in as its LLM (model `kb-test`, an API key, 1 s timeout).

    The answer cache is off: these tests ask the same question of an LLM whose reply each test
    changes, which a cache would rightly answer from the first reply.
    """
    data = Path(shutil.copytree(kb_template, tmp_path_factory.mktemp("llm") / "data"))
    llm = {"base_url": f"{standin[1]}/v1", "model": "kb-test", "api_key": "sk-standin"}
    with served(data, embedder, llm={**llm, "timeout_s": 1}, cache={"enabled": False}) as url:
        yield url


@pytest.fixture(scope="module")
def client(app_url: str) -> Iterator[openai.OpenAI]:
    with sdk(app_url) as client:
        yield client


@pytest.fixture
def llm(standin) -> VllmStandin:
    standin[0].reset()
    return standin[0]


def passage_numbers(prompt: str) -> dict[str, int]:
    """Passage number of each source text in the prompt, e.g. {'...25 days...': 1}."""
    found = re.findall(
        r"^\[(\d+)\] (.+?), page (\d+):\n(.+?)(?=\n\n\[\d+\] |\n\nQuestion: )", prompt, re.S | re.M
    )
    return {text: int(n) for n, _, _, text in found}


def number_of(prompt: str, words: str) -> int:
    return next(n for text, n in passage_numbers(prompt).items() if words in text)


def create(client: openai.OpenAI, messages: list[dict[str, str]], **kwargs: Any) -> Any:
    return client.chat.completions.create(model="kb/hr", messages=messages, **kwargs)  # type: ignore[arg-type]


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def test_the_prompt_numbers_passages_and_markers_are_renumbered(client, llm):
    def reply(messages: list[dict[str, Any]]) -> str:
        n = number_of(messages[-1]["content"], "25 days")
        return f"Employees get 25 days [{n}], see [{n}, 42] and [42]."

    llm.reset(reply=reply)
    answer = create(client, user(LEAVE))
    assert answer.choices[0].message.content == "Employees get 25 days [1], see [1] and."
    assert answer.model_extra["warnings"] == []
    [cited] = answer.model_extra["citations"]
    assert (cited["number"], cited["source"], cited["page"]) == (1, "handbook.md", 1)
    [request] = llm.requests
    assert request.body["model"] == "kb-test"
    assert request.headers["authorization"] == "Bearer sk-standin"
    system, question = request.messages
    assert system["role"] == "system"
    assert "square brackets, like [1]" in system["content"]
    assert 'reply exactly: "The knowledge base does not say."' in system["content"]
    assert question["content"].startswith("Passages:\n\n[1] ")
    assert question["content"].endswith(f"Question: {LEAVE}")
    assert re.search(r"^\[\d\] Security handbook, page 2:$", question["content"], re.M)


def test_streamed_markers_split_across_chunks_are_renumbered(client, llm):
    def reply(messages: list[dict[str, Any]]) -> str:
        prompt = messages[-1]["content"]
        a, b = number_of(prompt, "Passwords are rotated"), number_of(prompt, "25 days")
        return f"Passwords rotate every 90 days [{b + 10}][{a}]. Leave is 25 days [{b}][{a}]."

    llm.reset(reply=reply, chunk_chars=3)
    chunks = list(create(client, user("password rotation and leave days"), stream=True))
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert content == "Passwords rotate every 90 days [1]. Leave is 25 days [2][1]."
    citations = chunks[-1].model_extra["citations"]
    assert_consistent(content, citations)
    assert [(c["source"], c["page"]) for c in citations] == [
        ("security.pdf", 2),
        ("handbook.md", 1),
    ]
    assert llm.requests[0].body["stream"] is True
    assert llm.requests[0].finished


def test_a_follow_up_is_rewritten_before_retrieval(client, llm):
    def reply(messages: list[dict[str, Any]]) -> str:
        if "Standalone query" in messages[-1]["content"]:
            return "How long is parental leave for parents?"
        return f"Sixteen weeks [{number_of(messages[-1]['content'], 'Parents are entitled')}]."

    llm.reset(reply=reply)
    conversation = [
        *user(LEAVE),
        {"role": "assistant", "content": "Employees get 25 days [1]."},
        *user("And what about new parents?"),
    ]
    answer = create(client, conversation)
    assert answer.choices[0].message.content == "Sixteen weeks [1]."
    assert "16 weeks" in answer.model_extra["citations"][0]["snippet"]
    rewrite, final = llm.requests
    assert "Last question: And what about new parents?" in rewrite.prompt
    assert LEAVE in rewrite.prompt
    assert rewrite.body["model"] == "kb-test"
    # The answer prompt keeps the conversation and asks the user's own words.
    assert [m["role"] for m in final.messages] == ["system", "user", "assistant", "user"]
    assert final.messages[2]["content"] == "Employees get 25 days."  # old markers dropped
    assert final.messages[-1]["content"].endswith("Question: And what about new parents?")
    assert number_of(final.messages[-1]["content"], "Parents are entitled") == 1


FAILURES = [
    ({"status": 500}, "the LLM server answered 500"),
    ({"delay_s": 2.5}, "the LLM server did not answer within 1 s"),
]


@pytest.mark.parametrize(
    ("failure", "warning", "stream"),
    [(f, w, stream) for f, w in FAILURES for stream in (False, True)]
    + [({"fail_after_chunks": 0}, "the LLM server failed mid-answer", True)],
)
def test_a_failing_or_slow_llm_gives_an_extractive_answer(client, llm, failure, warning, stream):
    llm.reset(**failure)
    response = create(client, user(LEAVE), stream=stream)
    if stream:
        chunks = list(response)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        extra = chunks[-1].model_extra
    else:
        text, extra = response.choices[0].message.content, response.model_extra
    assert text.startswith("Employees receive 25 days of paid annual leave per calendar year. [1]")
    [note] = extra["warnings"]
    assert note.startswith(f"extractive: the LLM failed: {warning}"), note
    assert_consistent(text, extra["citations"])


def test_an_llm_failing_mid_answer_keeps_what_was_said(client, llm):
    llm.reset(reply="Employees get 25 days of leave.", fail_after_chunks=3)
    chunks = list(create(client, user(LEAVE), stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Employees ge"  # three 4-character chunks, then the error event
    [note] = chunks[-1].model_extra["warnings"]
    assert note.startswith("incomplete: the LLM failed mid-answer")


def test_a_client_leaving_mid_stream_cancels_the_llm_request(client, llm):
    llm.reset(reply="word " * 200, chunk_chars=5, chunk_delay_s=0.05)
    stream = create(client, user(LEAVE), stream=True)
    received = [next(stream) for _ in range(4)]
    assert received[-1].choices[0].delta.content.strip() == "word"
    stream.close()
    assert llm.wait_for(lambda: bool(llm.requests) and llm.requests[0].cancelled)
    assert not llm.requests[0].finished


def test_no_passages_means_no_llm_call(client, llm):
    answer = client.chat.completions.create(model="kb/empty", messages=user(LEAVE))
    assert answer.choices[0].message.content == "The knowledge base does not say."
    assert llm.requests == []


def test_the_sdk_can_talk_to_the_standin_itself(standin):
    server, url = standin
    with openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0) as direct:
        assert [m.id for m in direct.models.list().data] == [server.model]


def test_a_claim_cited_to_a_passage_that_does_not_say_it_is_flagged(client, llm):
    def reply(messages: list[dict[str, Any]]) -> str:
        prompt = messages[-1]["content"]
        leave, passwords = number_of(prompt, "25 days"), number_of(prompt, "Passwords are rotated")
        return (
            f"Employees receive 25 days of paid annual leave [{leave}]. "
            f"Passwords are rotated every 30 days [{passwords}]. "
            f"Laptops are reported to the security desk [{leave}]."
        )

    llm.reset(reply=reply)
    answer = create(client, user("leave days, password rotation and lost laptops"))
    content = answer.choices[0].message.content
    assert content.startswith("Employees receive 25 days of paid annual leave [1].")
    citations = {c["number"]: c for c in answer.model_extra["citations"]}
    assert citations[1]["supported"] is False, "the laptop claim is not in the leave passage"
    assert citations[2]["supported"] is False, "30 days is not what the passage says"
    assert 0 <= citations[1]["support"] < 0.5
    warnings = answer.model_extra["warnings"]
    passwords = 'citation [2] does not support "Passwords are rotated'
    assert any(w.startswith(passwords) for w in warnings)
    assert any("the source lacks 30" in w for w in warnings)
    assert any(w.startswith('citation [1] does not support "Laptops') for w in warnings)
    assert len(warnings) == 2, warnings

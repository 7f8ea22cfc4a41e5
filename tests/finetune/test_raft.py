"""RAFT examples through a real loopback stand-in of an OpenAI-compatible server."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from core.llm.client import LLMClient
from core.llm.prompts import ANSWER_SYSTEM, NOT_IN_KB
from core.llm.settings import LLMSettings
from finetune.dataset import build_dataset
from finetune.examples import Example, SourceChunk
from finetune.raft import cite, parse_reply
from finetune.settings import DataSettings
from tests.support.server import serve
from tests.support.vllm_standin import VllmStandin

PASSAGES = re.compile(
    r"^\[(\d+)\] (.+?), page (\d+):\n(.+?)(?=\n\n\[\d+\] |\n\nQuestion: )", re.S | re.M
)


def writer(messages) -> str:
    """The stand-in LLM: a question and answer about the passage it is sent, or a bad reply."""
    text = messages[-1]["content"].split(":\n", 2)[-1]
    if "UNUSABLE" in text:
        return "Sorry, I can only chat."
    if "HALF" in text:
        return '{"question": "What is missing?"}'
    number = re.search(r"topic (\d+)", text)
    key = number.group(1) if number else "?"
    reply = {"question": f"What does topic {key} say?", "answer": f"{text} It is clear. [1]"}
    if "FENCED" in text:
        return f"```json\n{json.dumps(reply)}\n```"
    return json.dumps(reply)


def chunk(index: int, extra: str = "") -> SourceChunk:
    return SourceChunk(
        kb="kb", document_id=f"doc-{index}", title=f"Doc {index}", source=f"d{index}.pdf",
        page=index + 1, text=f"Facts of topic {index}: the value is {index * 11}.{extra}",
    )  # fmt: skip


@pytest.fixture(scope="module")
def standin() -> Iterator[tuple[VllmStandin, str]]:
    server = VllmStandin()
    with serve(server.app()) as url:
        yield server, url


@pytest.fixture
def llm(standin) -> tuple[VllmStandin, LLMClient]:
    server, url = standin
    server.reset(reply=writer)
    client = LLMClient(LLMSettings(base_url=f"{url}/v1", model="base", timeout_s=5))
    return server, client


def settings(**overrides) -> DataSettings:
    return DataSettings(**{"heldout_fraction": 0.0, "replay_fraction": 0.0, **overrides})


def passages(example: Example) -> dict[int, str]:
    return {int(n): text for n, _, _, text in PASSAGES.findall(example.prompt[-1]["content"])}


async def test_raft_examples_have_the_serving_format(llm):
    server, client = llm
    chunks = [chunk(i) for i in range(10)]
    async with client:
        data = await build_dataset(chunks, [], settings(distractors=3), llm=client, seed=1)
    examples = data.train
    assert len(examples) == 10 == data.report.raft
    assert len(server.requests) == 10
    by_id = {c.id: c for c in chunks}
    gold_cited = 0
    for example in examples:
        assert example.kind == "raft"
        assert example.prompt[0] == {"role": "system", "content": ANSWER_SYSTEM}
        user = example.prompt[-1]["content"]
        assert user.startswith("Passages:\n\n[1] Doc ")
        assert re.search(r"\n\nQuestion: What does topic \d+ say\?$", user)
        numbered = passages(example)
        assert sorted(numbered) == [1, 2, 3, 4]
        gold = by_id[example.source_ids[0]]
        if example.completion == NOT_IN_KB:
            assert gold.text not in numbered.values()
            continue
        number = next(n for n, text in numbered.items() if text == gold.text)
        assert example.completion == f"{gold.text} [{number}] It is clear. [{number}]"
        gold_cited += 1
    assert gold_cited == 10 - data.report.raft_no_gold
    assert 0 < data.report.raft_no_gold < 10


async def test_no_gold_share_follows_the_setting(llm):
    _, client = llm
    chunks = [chunk(i) for i in range(6)]
    async with client:
        none = await build_dataset(chunks, [], settings(no_gold_fraction=0), llm=client, seed=1)
        every = await build_dataset(chunks, [], settings(no_gold_fraction=1), llm=client, seed=1)
    assert all(e.completion != NOT_IN_KB for e in none.train)
    assert all(e.completion == NOT_IN_KB for e in every.train)
    # Without its gold the example keeps as many passages, all of them distractors.
    assert all(len(passages(e)) == 4 for e in every.train)


async def test_unusable_replies_are_counted_and_skipped(llm):
    _, client = llm
    chunks = [chunk(0), chunk(1, " UNUSABLE"), chunk(2, " HALF"), chunk(3, " FENCED")]
    async with client:
        data = await build_dataset(chunks, [], settings(), llm=client, seed=1)
    assert data.report.llm_unusable == 2
    assert data.report.llm_failed == 0
    assert sorted(e.source_ids[0] for e in data.train) == sorted([chunks[0].id, chunks[3].id])


async def test_a_failing_llm_skips_chunks_without_failing_the_dataset(llm):
    server, client = llm
    server.reset(status=500)
    async with client:
        data = await build_dataset([chunk(0), chunk(1)], [], settings(), llm=client, seed=1)
    assert data.report.llm_failed == 2
    assert data.train == []


async def test_distractors_come_from_the_pool_too(llm):
    _, client = llm
    older = [chunk(i) for i in range(100, 104)]
    async with client:
        data = await build_dataset(
            [chunk(0)], [], settings(distractors=4, no_gold_fraction=0), llm=client, seed=1,
            distractor_pool=older,
        )  # fmt: skip
    (example,) = data.train
    assert set(passages(example).values()) == {c.text for c in [chunk(0), *older]}


async def test_same_seed_same_examples(llm):
    _, client = llm
    chunks = [chunk(i) for i in range(8)]
    async with client:
        first = await build_dataset(chunks, [], settings(), llm=client, seed=3)
        again = await build_dataset(list(reversed(chunks)), [], settings(), llm=client, seed=3)
    assert sorted(e.sha256 for e in first.train) == sorted(e.sha256 for e in again.train)


async def test_personal_data_never_reaches_the_llm_or_the_examples(llm):
    server, client = llm
    secret = chunk(0, " Call 13812345678 or write to wang.wu@example.com.")
    async with client:
        data = await build_dataset([secret], [], settings(no_gold_fraction=0), llm=client, seed=1)
    sent = server.requests[0].prompt
    assert "13812345678" not in sent
    assert "wang.wu@example.com" not in sent
    assert "[PHONE]" in sent
    assert "[EMAIL]" in sent
    text = data.train[0].model_dump_json()
    assert "13812345678" not in text
    assert "[PHONE]" in text
    assert data.report.pii == {"PHONE": 1, "EMAIL": 1}


@pytest.mark.parametrize(
    ("reply", "parsed"),
    [
        ('{"question": "Q?", "answer": "A."}', ("Q?", "A.")),
        ('```json\n{"question": "Q?", "answer": "A [1]."}\n```', ("Q?", "A.")),
        ('Here you go: {"question": " Q? ", "answer": "A [1, 2]"} Enjoy.', ("Q?", "A")),
        ('{"question": "Q?", "answer": "' + NOT_IN_KB + '"}', None),
        ('{"question": "", "answer": "A."}', None),
        ('{"question": "Q?", "answer": 3}', None),
        ('["Q?", "A."]', None),
        ("{not json}", None),
        ("", None),
    ],
)
def test_parse_reply(reply, parsed):
    assert parse_reply(reply) == parsed


def test_cite_marks_every_sentence():
    assert cite("One. Two!", 3) == "One. [3] Two! [3]"
    assert cite("员工有假期。每年二十五天。", 2) == "员工有假期。 [2] 每年二十五天。 [2]"

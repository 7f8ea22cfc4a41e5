"""The answer cache through the real app and the `openai` SDK: in-process and on real Redis.

A repeated question over unchanged content is answered from the cache with the same text and
citations (JSON and stream); a new document invalidates it; hits and misses are counted.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.serving.test_chat import kb_data, kb_template, sdk, served  # noqa: F401
from tests.support.databases import REDIS_URL, redis_prefix

QUESTION = "How many days of paid annual leave do employees get?"


@pytest.fixture(params=["memory", "redis"])
def cache_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    if request.param == "memory":
        return {}
    return {"redis_url": REDIS_URL, "redis_prefix": redis_prefix()}


@pytest.fixture
def url(kb_data: Path, embedder, cache_settings: dict[str, Any]) -> Iterator[str]:  # noqa: F811
    with served(kb_data, embedder, **cache_settings) as url:
        yield url


def ask(url: str, question: str = QUESTION, **extra: Any) -> dict[str, Any]:
    answer = sdk(url).chat.completions.create(
        model="kb/hr", messages=[{"role": "user", "content": question}], extra_body=extra
    )
    return answer.model_dump()


def stats(url: str) -> dict[str, Any]:
    response: dict[str, Any] = httpx.get(f"{url}/v1/cache/stats").json()
    return response


def test_a_repeated_question_is_answered_from_the_cache(url):
    first = ask(url)
    second = ask(url)
    assert first["cached"] is False
    assert second["cached"] is True
    assert second["choices"][0]["message"]["content"] == first["choices"][0]["message"]["content"]
    assert second["citations"] == first["citations"]
    assert first["citations"], "the answer cites the handbook"
    assert stats(url)["hits"] == 1
    assert stats(url)["misses"] == 1


def test_a_cached_answer_streams_with_its_citations(url):
    expected = ask(url)
    stream = sdk(url).chat.completions.create(
        model="kb/hr", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    last = chunks[-1].model_extra or {}
    assert text == expected["choices"][0]["message"]["content"]
    assert last["cached"] is True
    assert last["citations"] == expected["citations"]


def test_a_streamed_answer_fills_the_cache_for_the_next_request(url):
    list(
        sdk(url).chat.completions.create(
            model="kb/hr", messages=[{"role": "user", "content": QUESTION}], stream=True
        )
    )
    assert ask(url)["cached"] is True


def test_new_content_in_the_knowledge_base_is_a_miss(url, tmp_path):
    assert ask(url)["cached"] is False
    note = tmp_path / "leave-update.txt"
    note.write_text("From 2027 employees receive 27 days of paid annual leave per year.")
    with note.open("rb") as handle:
        job = httpx.post(f"{url}/v1/knowledge-bases/hr/documents", files={"files": handle}).json()
    deadline = time.monotonic() + 120
    while job["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.2)
        job = httpx.get(f"{url}/v1/jobs/{job['id']}").json()
    assert job["counts"] == {"ingested": 1}
    fresh = ask(url)
    assert fresh["cached"] is False
    assert ask(url)["cached"] is True


def test_other_questions_and_opting_out_are_not_served_from_the_cache(url):
    ask(url)
    assert ask(url, "Can unused leave days be carried over?")["cached"] is False
    assert ask(url, cache=False)["cached"] is False
    assert ask(url, QUESTION + " Please.")["cached"] is False

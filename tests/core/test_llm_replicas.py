"""Several vLLM replicas: taken in turn, a dead or failing one skipped; real stand-ins."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from core.errors import UpstreamError
from core.llm.client import LLMClient
from core.llm.replicas import Replicas, split_urls
from core.llm.settings import LLMSettings
from tests.support.server import free_port, serve
from tests.support.vllm_standin import VllmStandin

ASK = [{"role": "user", "content": "hello"}]


@pytest.fixture
def fleet() -> Iterator[tuple[list[VllmStandin], list[str]]]:
    """Two live stand-ins answering 'one' and 'two'."""
    first, second = VllmStandin(reply="one"), VllmStandin(reply="two")
    with serve(first.app()) as a, serve(second.app()) as b:
        yield [first, second], [f"{a}/v1", f"{b}/v1"]


def client(urls: list[str], **settings: float) -> LLMClient:
    return LLMClient(LLMSettings(base_url=",".join(urls), timeout_s=5, **settings))


def test_split_urls_reads_a_comma_separated_setting():
    assert split_urls(" http://a/v1/ ,http://b/v1,, ") == ["http://a/v1", "http://b/v1"]
    assert split_urls(None) == []


def test_the_order_turns_and_a_failed_replica_waits_its_cooldown():
    now = [0.0]
    replicas = Replicas(["a", "b", "c"], cooldown_s=10, clock=lambda: now[0])
    assert [replicas.order()[0] for _ in range(4)] == ["a", "b", "c", "a"]
    replicas.failed("b")
    assert replicas.order() == ["c", "a", "b"]
    assert replicas.down() == ["b"]
    now[0] = 10.5  # b is back
    assert replicas.down() == []
    assert replicas.order() == ["c", "a", "b"]


def test_all_replicas_cooling_down_are_still_tried_soonest_back_first():
    now = [0.0]
    replicas = Replicas(["a", "b"], cooldown_s=10, clock=lambda: now[0])
    replicas.failed("b")
    now[0] = 1
    replicas.failed("a")
    assert replicas.order() == ["b", "a"]


async def test_requests_alternate_between_live_replicas(fleet):
    standins, urls = fleet
    async with client(urls) as llm:
        answers = [await llm.complete(ASK) for _ in range(4)]
    assert sorted(answers) == ["one", "one", "two", "two"]
    assert [len(s.requests) for s in standins] == [2, 2]


@pytest.mark.parametrize("stream", [False, True])
async def test_a_dead_replica_is_skipped_and_set_aside(fleet, stream):
    standins, urls = fleet
    dead = f"http://127.0.0.1:{free_port()}/v1"
    async with client([dead, urls[0]]) as llm:
        for _ in range(3):
            if stream:
                assert "".join([piece async for piece in llm.stream(ASK)]) == "one"
            else:
                assert await llm.complete(ASK) == "one"
        assert llm.replicas.down() == [dead]
    assert len(standins[0].requests) == 3


async def test_a_replica_answering_5xx_fails_over_but_a_4xx_does_not(fleet):
    standins, urls = fleet
    standins[0].reset(reply="one", status=503)
    async with client(urls) as llm:
        assert [await llm.complete(ASK) for _ in range(2)] == ["two", "two"]
        assert llm.replicas.down() == [urls[0]]
    standins[0].reset(reply="one", status=400)
    standins[1].reset(reply="two", status=400)
    async with client(urls) as llm:
        with pytest.raises(UpstreamError, match="answered 400"):
            await llm.complete(ASK)
        assert llm.replicas.down() == []


async def test_when_every_replica_fails_the_error_names_each(fleet):
    standins, urls = fleet
    for standin in standins:
        standin.reset(status=502)
    async with client(urls) as llm:
        with pytest.raises(UpstreamError) as caught:
            await asyncio.gather(llm.complete(ASK))
    assert caught.value.message.count("answered 502") == 2

"""Fan-out over engine stand-ins: partial results, failures listed, limits, cache."""

from __future__ import annotations

import httpx
import pytest

from search_proxy.cache import TtlCache
from search_proxy.engines.registry import enabled_engines
from search_proxy.fanout import FanOut
from search_proxy.protocol import EngineHit
from search_proxy.settings import EngineSettings
from tests.support.search_engines import EngineStandins, Page

PAGES = [Page(f"https://example.org/{i}", f"Title {i}", f"Snippet {i}") for i in range(1, 6)]


@pytest.fixture
async def client():
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def fanout(standins: EngineStandins, standins_url: str, client: httpx.AsyncClient):
    def build(*names: str, ttl: float = 0, **overrides) -> FanOut:
        engines = enabled_engines(standins.settings(standins_url, *names, **overrides))
        return FanOut(engines, client, TtlCache(ttl, 100))

    return build


def reasons(gathered) -> dict[str, str]:
    return {failure.engine: failure.reason for failure in gathered.failed}


async def test_every_engine_answers(standins, fanout):
    for engine in standins.engines.values():
        engine.reset(results=PAGES)
    gathered = await fanout().gather("q", sorted(standins.engines), 3, 5)
    assert sorted(gathered.hits) == sorted(standins.engines)
    assert all(len(hits) == 3 for hits in gathered.hits.values())
    assert gathered.failed == []


async def test_a_slow_engine_misses_the_deadline_and_the_others_still_answer(standins, fanout):
    standins["brave"].reset(results=PAGES)
    standins["tavily"].reset(results=PAGES)
    standins["serper"].reset(results=PAGES, delay_s=3)
    gathered = await fanout(timeout_s=10).gather(
        "q", ["brave", "tavily", "serper"], 5, deadline_s=0.5
    )
    assert sorted(gathered.hits) == ["brave", "tavily"]
    assert reasons(gathered) == {"serper": "timeout"}
    assert "deadline" in gathered.failed[0].message


async def test_an_engine_over_its_own_timeout_fails_alone(standins, fanout):
    standins["brave"].reset(results=PAGES)
    standins["bocha"].reset(results=PAGES, delay_s=2)
    gathered = await fanout(timeout_s=0.3).gather("q", ["brave", "bocha"], 5, deadline_s=10)
    assert list(gathered.hits) == ["brave"]
    assert reasons(gathered) == {"bocha": "timeout"}
    assert "0.3 s" in gathered.failed[0].message


async def test_failing_engines_are_listed_with_why(standins, fanout):
    standins["searxng"].reset(results=PAGES)
    standins["brave"].reset(status=500)
    standins["tavily"].reset(garbage=True)
    gathered = await fanout().gather("q", ["searxng", "brave", "tavily"], 5, 5)
    assert list(gathered.hits) == ["searxng"]
    assert reasons(gathered) == {"brave": "error", "tavily": "error"}
    assert "HTTP 500" in gathered.failed[0].message
    assert "not JSON" in gathered.failed[1].message


async def test_a_429_pauses_the_engine_without_asking_it_again(standins, fanout):
    standins["serper"].reset(status=429, retry_after="60")
    fan = fanout("serper")
    first = await fan.gather("q", ["serper"], 5, 5)
    standins["serper"].reset(results=PAGES)  # it would answer now, but we must not ask yet
    second = await fan.gather("q2", ["serper"], 5, 5)
    assert reasons(first) == reasons(second) == {"serper": "rate_limited"}
    assert "next request possible in" in second.failed[0].message
    assert standins["serper"].requests == []


async def test_our_own_rate_limit_refuses_before_the_engine_is_asked(standins, fanout):
    standins["tavily"].reset(results=PAGES)
    fan = fanout("tavily", rate_per_s=0.01, burst=1)
    assert "tavily" in (await fan.gather("one", ["tavily"], 5, 5)).hits
    second = await fan.gather("two", ["tavily"], 5, 5)
    assert reasons(second) == {"tavily": "rate_limited"}
    assert [seen.query for seen in standins["tavily"].requests] == ["one"]


async def test_a_repeated_query_comes_from_the_cache(standins, fanout):
    standins["bocha"].reset(results=PAGES)
    fan = fanout("bocha", ttl=60)
    first = await fan.gather("same", ["bocha"], 5, 5)
    again = await fan.gather("same", ["bocha"], 5, 5)
    other = await fan.gather("different", ["bocha"], 5, 5)
    assert first.hits == again.hits == other.hits
    assert [seen.query for seen in standins["bocha"].requests] == ["same", "different"]


async def test_failures_are_not_cached(standins, fanout):
    standins["searxng"].reset(status=503)
    fan = fanout("searxng", ttl=60)
    assert reasons(await fan.gather("q", ["searxng"], 5, 5)) == {"searxng": "error"}
    standins["searxng"].reset(results=PAGES)
    assert len((await fan.gather("q", ["searxng"], 5, 5)).hits["searxng"]) == 5


class BrokenEngine:
    """An engine with a bug: it raises something that is not one of our errors."""

    name = "broken"
    settings = EngineSettings(url="http://unused.invalid/")

    async def search(self, client: httpx.AsyncClient, query: str, count: int) -> list[EngineHit]:
        raise KeyError("results")


async def test_an_engine_bug_is_reported_not_raised(standins, standins_url, client, caplog):
    standins["searxng"].reset(results=PAGES)
    engines = [*enabled_engines(standins.settings(standins_url, "searxng")), BrokenEngine()]
    fan = FanOut(engines, client, TtlCache(0, 1))
    gathered = await fan.gather("q", ["searxng", "broken"], 5, 5)
    assert list(gathered.hits) == ["searxng"]
    assert reasons(gathered) == {"broken": "error"}
    assert "KeyError" in gathered.failed[0].message
    assert "broken crashed" in caplog.text


@pytest.mark.parametrize("deadline", [0.2, 1.0])
async def test_nothing_enabled_answers_empty(fanout, deadline):
    gathered = await fanout("searxng").gather("q", [], 5, deadline)
    assert gathered.hits == {}
    assert gathered.failed == []

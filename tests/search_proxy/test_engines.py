"""The engine contract, run on every engine against its stand-in on loopback."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from pydantic import SecretStr

from core.errors import ConfigurationError, RateLimited, UpstreamError, UpstreamTimeout
from search_proxy.engines.base import Engine, retry_after
from search_proxy.engines.registry import ENGINES, KEYLESS, enabled_engines
from search_proxy.settings import EnginesSettings
from tests.support.search_engines import EngineStandins, Page

DATED = {"searxng", "brave", "tavily", "bocha"}  # Serper sends display strings, not dates
PAGES = [
    Page(
        f"https://example.com/a{i}",
        f"Result &amp; {i}",
        f"About solar power, part {i}.",
        published=f"2026-03-0{i % 9 + 1}T10:00:00Z",
    )
    for i in range(1, 8)
]


def engine(standins: EngineStandins, url: str, name: str) -> Engine:
    settings: EnginesSettings = standins.settings(url, name)
    (only,) = enabled_engines(settings)
    return only


@pytest.fixture(params=sorted(ENGINES))
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_results_are_ranked_plain_text_and_capped(standins, standins_url, name):
    standins[name].reset(results=PAGES)
    async with httpx.AsyncClient() as client:
        hits = await engine(standins, standins_url, name).search(client, "solar", 5)
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert [h.url for h in hits] == [p.url for p in PAGES[:5]]
    assert hits[0].title == "Result & 1"
    assert hits[0].snippet == "About solar power, part 1."  # Brave's <strong> stripped
    assert standins[name].requests[0].query == "solar"
    if name in DATED:
        assert hits[0].published == datetime(2026, 3, 2, 10, tzinfo=UTC)
    else:
        assert hits[0].published is None


async def test_no_results_is_an_empty_list(standins, standins_url, name):
    async with httpx.AsyncClient() as client:
        assert await engine(standins, standins_url, name).search(client, "nothing", 5) == []


async def test_429_is_rate_limited_with_retry_after(standins, standins_url, name):
    standins[name].reset(status=429, retry_after="7")
    async with httpx.AsyncClient() as client:
        with pytest.raises(RateLimited) as caught:
            await engine(standins, standins_url, name).search(client, "q", 5)
    assert caught.value.retry_after_s == 7
    assert name in caught.value.message


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_name_the_engine_and_status(standins, standins_url, name, status):
    standins[name].reset(status=status)
    async with httpx.AsyncClient() as client:
        with pytest.raises(UpstreamError, match=f"{name}: HTTP {status}"):
            await engine(standins, standins_url, name).search(client, "q", 5)


async def test_a_page_that_is_not_json_is_an_error(standins, standins_url, name):
    standins[name].reset(garbage=True)
    async with httpx.AsyncClient() as client:
        with pytest.raises(UpstreamError, match=name):
            await engine(standins, standins_url, name).search(client, "q", 5)


async def test_a_slow_engine_times_out(standins, standins_url, name):
    standins[name].reset(delay_s=1.0, results=PAGES)
    async with httpx.AsyncClient(timeout=0.2) as client:
        with pytest.raises(UpstreamTimeout, match=name):
            await engine(standins, standins_url, name).search(client, "q", 5)


@pytest.mark.parametrize("keyed", sorted(set(ENGINES) - KEYLESS))
async def test_a_wrong_key_is_refused(standins, standins_url, keyed):
    name = keyed
    settings = standins.settings(standins_url, name)
    getattr(settings, name).api_key = SecretStr("wrong")
    (wrong,) = enabled_engines(settings)
    async with httpx.AsyncClient() as client:
        with pytest.raises(UpstreamError, match="HTTP 401"):
            await wrong.search(client, "q", 5)


def test_an_enabled_engine_without_its_key_is_a_configuration_error(standins, standins_url):
    settings = standins.settings(standins_url, "brave")
    settings.brave.api_key = None
    with pytest.raises(ConfigurationError, match="KB_SEARCH_ENGINES__BRAVE__API_KEY"):
        enabled_engines(settings)


def test_retry_after_reads_seconds_and_http_dates():
    assert retry_after(httpx.Response(429, headers={"Retry-After": "12"})) == 12
    assert retry_after(httpx.Response(429, headers={"Retry-After": "soon"})) is None
    later = retry_after(
        httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"})
    )
    assert later is not None
    assert later > 1e6

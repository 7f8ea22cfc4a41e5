"""One contract for the cache backends: in-process, and the machine's real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from core.cache.factory import open_cache
from core.cache.memory import MemoryCache
from core.cache.protocol import Cache
from core.errors import UpstreamError
from tests.support.databases import REDIS_URL, redis_prefix


@pytest.fixture(params=["memory", "redis"])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[Cache]:
    if request.param == "memory":
        backend: Cache = MemoryCache(max_entries=100)
    else:
        backend = await open_cache(REDIS_URL, prefix=redis_prefix())
    yield backend
    await backend.close()


class TestCacheContract:
    async def test_a_value_is_served_until_it_expires(self, cache: Cache):
        assert await cache.get("k") is None
        await cache.set("k", "中文 value", ttl_s=0.3)
        assert await cache.get("k") == "中文 value"
        await asyncio.sleep(0.45)
        assert await cache.get("k") is None

    async def test_setting_again_replaces(self, cache: Cache):
        await cache.set("k", "one", ttl_s=30)
        await cache.set("k", "two", ttl_s=30)
        assert await cache.get("k") == "two"

    async def test_counters_add_up_and_can_expire(self, cache: Cache):
        assert await cache.counter("hits") == 0
        assert await cache.incr("hits") == 1
        assert await cache.incr("hits", 5) == 6
        assert await cache.counter("hits") == 6
        assert await cache.incr("window", ttl_s=0.3) == 1
        assert await cache.incr("window", ttl_s=0.3) == 2
        await asyncio.sleep(0.45)
        assert await cache.counter("window") == 0


def test_the_memory_cache_forgets_the_least_recently_used_first():
    cache = MemoryCache(max_entries=2)

    async def scenario() -> list[str | None]:
        await cache.set("a", "1", ttl_s=30)
        await cache.set("b", "2", ttl_s=30)
        await cache.get("a")
        await cache.set("c", "3", ttl_s=30)
        return [await cache.get(k) for k in ("a", "b", "c")]

    assert asyncio.run(scenario()) == ["1", None, "3"]


async def test_deployments_sharing_a_redis_do_not_see_each_others_keys():
    mine = await open_cache(REDIS_URL, prefix=redis_prefix())
    theirs = await open_cache(REDIS_URL, prefix=redis_prefix())
    await mine.set("shared", "mine", ttl_s=30)
    assert await theirs.get("shared") is None
    assert await mine.get("shared") == "mine"
    await mine.close()
    await theirs.close()


async def test_an_unreachable_redis_fails_at_start_with_its_address():
    with pytest.raises(UpstreamError, match=r"127\.0\.0\.1:1"):
        await open_cache("redis://127.0.0.1:1/0")

"""Token buckets and the TTL cache, on a clock the test moves by hand."""

from __future__ import annotations

import pytest

from core.errors import RateLimited
from search_proxy.cache import TtlCache
from search_proxy.ratelimit import TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_bucket_allows_its_burst_then_refills_at_its_rate():
    clock = Clock()
    bucket = TokenBucket(rate=2, burst=3, clock=clock)
    for _ in range(3):
        await bucket.acquire(0, "e")
    with pytest.raises(RateLimited) as caught:
        await bucket.acquire(0, "e")
    assert caught.value.retry_after_s == pytest.approx(0.5)
    clock.now += 0.5
    await bucket.acquire(0, "e")
    clock.now += 10  # refills up to the burst, no further
    for _ in range(3):
        await bucket.acquire(0, "e")
    assert bucket.wait_time() == pytest.approx(0.5)


async def test_a_short_wait_is_taken_when_the_caller_can_afford_it():
    bucket = TokenBucket(rate=50, burst=1)  # real clock: a 20 ms wait
    await bucket.acquire(0, "e")
    await bucket.acquire(1.0, "e")
    assert bucket.wait_time() > 0


async def test_a_pause_blocks_until_it_ends_then_allows_one_request():
    clock = Clock()
    bucket = TokenBucket(rate=1, burst=5, clock=clock)
    bucket.pause(30)
    assert bucket.wait_time() == pytest.approx(30)
    with pytest.raises(RateLimited, match=r"in 30\.0 s"):
        await bucket.acquire(5, "e")
    clock.now += 30
    await bucket.acquire(0, "e")
    with pytest.raises(RateLimited):
        await bucket.acquire(0, "e")


def test_cache_entries_expire():
    clock = Clock()
    cache: TtlCache[str] = TtlCache(10, 5, clock=clock)
    cache.put("k", "v")
    clock.now += 9.9
    assert cache.get("k") == "v"
    clock.now += 0.1
    assert cache.get("k") is None
    assert len(cache) == 0


def test_cache_drops_the_least_recently_used_beyond_its_size():
    cache: TtlCache[int] = TtlCache(60, 2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recent
    cache.put("c", 3)
    assert cache.get("b") is None
    assert (cache.get("a"), cache.get("c")) == (1, 3)


def test_a_zero_ttl_caches_nothing():
    cache: TtlCache[int] = TtlCache(0, 2)
    cache.put("a", 1)
    assert cache.get("a") is None

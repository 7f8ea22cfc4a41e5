"""Pick the cache backend: Redis when a URL is configured, else in-process."""

from __future__ import annotations

from core.cache.memory import MemoryCache
from core.cache.protocol import Cache
from core.cache.redis import RedisCache


async def open_cache(
    redis_url: str | None, *, prefix: str = "kb:", max_entries: int = 1024
) -> Cache:
    """Redis at `redis_url` (checked with a PING, so a wrong URL fails at start), else memory."""
    if not redis_url:
        return MemoryCache(max_entries)
    cache = RedisCache(redis_url, prefix)
    try:
        await cache.ping()
    except BaseException:
        await cache.close()
        raise
    return cache

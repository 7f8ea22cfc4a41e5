"""`RedisCache`: the cache every API replica shares (services mode).

Through redis-py's asyncio client; keys carry a prefix so one Redis can serve several
deployments.
"""

from __future__ import annotations

import math

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.errors import UpstreamError


class RedisCache:
    """Values with `SET ... PX`, counters with `INCRBY` (+ `PEXPIRE NX` when created)."""

    name = "redis"

    def __init__(self, url: str, prefix: str = "kb:") -> None:
        self._redis: Redis = Redis.from_url(url, decode_responses=True, socket_timeout=5.0)
        self._prefix = prefix
        self.url = url

    async def get(self, key: str) -> str | None:
        try:
            value = await self._redis.get(self._prefix + key)
        except RedisError as exc:
            raise UpstreamError(f"Redis: {exc}") from exc
        return None if value is None else str(value)

    async def set(self, key: str, value: str, ttl_s: float) -> None:
        try:
            await self._redis.set(self._prefix + key, value, px=_ms(ttl_s))
        except RedisError as exc:
            raise UpstreamError(f"Redis: {exc}") from exc

    async def incr(self, key: str, amount: int = 1, *, ttl_s: float | None = None) -> int:
        name = self._prefix + key
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incrby(name, amount)
                if ttl_s is not None:
                    pipe.pexpire(name, _ms(ttl_s), nx=True)
                results = await pipe.execute()
        except RedisError as exc:
            raise UpstreamError(f"Redis: {exc}") from exc
        return int(results[0])

    async def counter(self, key: str) -> int:
        return int(await self.get(key) or 0)

    async def ping(self) -> None:
        try:
            await self._redis.ping()
        except RedisError as exc:
            raise UpstreamError(f"Redis at {self.url} is unreachable: {exc}") from exc

    async def close(self) -> None:
        await self._redis.aclose()


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))

"""The cache seam: strings under keys, with a time to live, and counters."""

from __future__ import annotations

from typing import Protocol


class Cache(Protocol):
    """Strings and counters under keys, each with an optional time to live.

    Contract: `get` returns what `set` stored until `ttl_s` has passed, else None; `incr`
    adds to a counter (created at 0) and returns the new value, and a `ttl_s` given when the
    counter is created makes it expire; counters and values share one key space. Backend
    failures raise `core.errors.UpstreamError`.
    """

    name: str

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str, ttl_s: float) -> None: ...

    async def incr(self, key: str, amount: int = 1, *, ttl_s: float | None = None) -> int: ...

    async def counter(self, key: str) -> int: ...

    async def close(self) -> None: ...

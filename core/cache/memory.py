"""`MemoryCache`: a bounded LRU dictionary with expiry, for one process (embedded mode)."""

from __future__ import annotations

import time
from collections import OrderedDict


class MemoryCache:
    """Least recently used entries go first once `max_entries` is reached."""

    name = "memory"

    def __init__(self, max_entries: int = 1024) -> None:
        self._max = max_entries
        self._entries: OrderedDict[str, tuple[float | None, str]] = OrderedDict()

    def _live(self, key: str) -> str | None:
        found = self._entries.get(key)
        if found is None:
            return None
        expires, value = found
        if expires is not None and expires <= time.monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    def _put(self, key: str, value: str, ttl_s: float | None) -> None:
        expires = None if ttl_s is None else time.monotonic() + ttl_s
        self._entries[key] = (expires, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    async def get(self, key: str) -> str | None:
        return self._live(key)

    async def set(self, key: str, value: str, ttl_s: float) -> None:
        self._put(key, value, ttl_s)

    async def incr(self, key: str, amount: int = 1, *, ttl_s: float | None = None) -> int:
        current = self._live(key)
        if current is None:
            value = amount
            self._put(key, str(value), ttl_s)
        else:
            value = int(current) + amount
            expires, _ = self._entries[key]
            self._entries[key] = (expires, str(value))
        return value

    async def counter(self, key: str) -> int:
        return int(self._live(key) or 0)

    async def close(self) -> None:
        self._entries.clear()

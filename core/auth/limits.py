"""Per-caller limits: requests per minute and answers in progress, with 429 and Retry-After.

Counters live in the `Cache` (Redis in services mode, so every API replica counts against
the same budget; in-process when embedded). Requests are counted in fixed one-minute
windows. Answers in progress are a counter up on start and down on finish; it carries a
time to live so that a replica dying mid-answer cannot hold a slot for more than that.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from core.auth.principal import Principal
from core.auth.settings import AuthSettings
from core.cache.protocol import Cache
from core.errors import TooManyRequests

WINDOW_S = 60
SLOT_TTL_S = 600.0


class Limiter:
    """Limits of authenticated callers; the local admin of the embedded default has none."""

    def __init__(self, cache: Cache, settings: AuthSettings) -> None:
        self._cache, self._settings = cache, settings

    async def admit(self, principal: Principal) -> None:
        """Count one request; TooManyRequests past the minute's budget."""
        limit = self._settings.requests_per_minute
        if not limit or not self._settings.enabled:
            return
        now = time.time()
        window = int(now // WINDOW_S)
        count = await self._cache.incr(
            f"limits:rate:{principal.subject}:{window}", ttl_s=2 * WINDOW_S
        )
        if count > limit:
            raise TooManyRequests(
                f"over {limit} requests per minute for this key; retry after the minute ends",
                retry_after_s=WINDOW_S - now % WINDOW_S,
            )

    @asynccontextmanager
    async def answering(self, principal: Principal) -> AsyncIterator[None]:
        """Hold one of the caller's answer slots for the block; TooManyRequests if none."""
        limit = self._settings.concurrent_answers
        if not limit or not self._settings.enabled:
            yield
            return
        key = f"limits:answers:{principal.subject}"
        count = await self._cache.incr(key, ttl_s=SLOT_TTL_S)
        try:
            if count > limit:
                raise TooManyRequests(
                    f"{limit} answers already in progress for this key; retry when one is done",
                    retry_after_s=1,
                )
            yield
        finally:
            await self._cache.incr(key, -1, ttl_s=SLOT_TTL_S)

    async def close(self) -> None:
        await self._cache.close()

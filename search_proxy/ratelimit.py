"""Per-engine token buckets, with a pause after the engine itself says 429."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from core.errors import RateLimited

Clock = Callable[[], float]


class TokenBucket:
    """`rate` requests per second on average, `burst` back to back.

    `acquire` waits for a token only as long as the caller can afford; a request that would
    wait longer fails at once with `RateLimited`, so a throttled engine never holds up a search.
    """

    def __init__(self, rate: float, burst: int, *, clock: Clock = time.monotonic) -> None:
        self._rate, self._burst, self._clock = rate, float(burst), clock
        self._tokens = float(burst)
        self._stamp = clock()
        self._paused_until = 0.0

    def wait_time(self) -> float:
        """Seconds until a token is free (0 when one is free now)."""
        now = self._refill()
        if now < self._paused_until:
            return self._paused_until - now
        return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self._rate

    async def acquire(self, max_wait: float, engine: str) -> None:
        """Take a token, waiting up to `max_wait` seconds for one."""
        wait = self.wait_time()
        if wait > max_wait:
            raise RateLimited(
                f"{engine}: rate limit reached, next request possible in {wait:.1f} s",
                retry_after_s=wait,
            )
        if wait > 0:
            await asyncio.sleep(wait)
            self._refill()
        self._tokens -= 1  # may dip below zero when several waited: later callers wait longer

    def pause(self, seconds: float) -> None:
        """No requests for `seconds`, and start again with a single token (after a 429)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)
        self._tokens = min(self._tokens, 1.0)

    def _refill(self) -> float:
        now = self._clock()
        if now > self._stamp:
            start = max(self._stamp, self._paused_until)
            if now > start:
                self._tokens = min(self._burst, self._tokens + (now - start) * self._rate)
            self._stamp = now
        return now

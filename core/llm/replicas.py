"""`Replicas`: several servers of one model, taken in turn, a failed one left alone for a while.

vLLM scales out as several identical servers. Requests go round-robin; a replica that could
not be reached (or answered 5xx) is skipped for `cooldown_s`, and when every replica is
cooling down they are tried anyway, soonest-recovered first: a fleet that is all down must
still be asked, or it could never come back.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence


def split_urls(urls: str | None) -> list[str]:
    """Base URLs from one setting: several may be given separated by commas."""
    return [url.strip().rstrip("/") for url in (urls or "").split(",") if url.strip()]


class Replicas:
    """The order in which to try the replicas for the next request."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        cooldown_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not urls:
            raise ValueError("Replicas needs at least one URL")
        self.urls = list(urls)
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._turn = itertools.count()
        self._down_until: dict[str, float] = {}

    def order(self) -> list[str]:
        """Healthy replicas from the next in turn, then those cooling down, soonest back first."""
        start = next(self._turn) % len(self.urls)
        turn = self.urls[start:] + self.urls[:start]
        now = self._clock()
        healthy = [url for url in turn if self._down_until.get(url, 0.0) <= now]
        cooling = sorted(
            set(turn) - set(healthy), key=lambda url: (self._down_until[url], turn.index(url))
        )
        return healthy + cooling

    def failed(self, url: str) -> None:
        """`url` could not serve a request: skip it for the cooldown."""
        self._down_until[url] = self._clock() + self._cooldown_s

    def succeeded(self, url: str) -> None:
        self._down_until.pop(url, None)

    def down(self) -> list[str]:
        """Replicas cooling down now."""
        now = self._clock()
        return [url for url, until in self._down_until.items() if until > now]

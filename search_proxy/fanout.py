"""Ask every chosen engine at once; collect what arrives in time and why the rest did not.

Each engine runs as its own task under its own timeout, its rate limit and the shared deadline;
whatever is still running at the deadline is cancelled and reported, so the slowest or broken
engine never holds up or breaks the others.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

from core.errors import RagError, RateLimited, UpstreamTimeout
from core.observability.metrics import SEARCH_ENGINE_DURATION, SEARCH_ENGINE_REQUESTS
from search_proxy.cache import TtlCache
from search_proxy.engines.base import Engine
from search_proxy.protocol import EngineFailure, EngineHit
from search_proxy.ratelimit import TokenBucket

logger = logging.getLogger(__name__)


@dataclass
class Gathered:
    """What the engines answered, by engine name, and the failures."""

    hits: dict[str, list[EngineHit]] = field(default_factory=dict)
    failed: list[EngineFailure] = field(default_factory=list)


class FanOut:
    """Runs searches on several engines concurrently over one shared HTTP client."""

    def __init__(
        self,
        engines: Sequence[Engine],
        client: httpx.AsyncClient,
        cache: TtlCache[list[EngineHit]],
    ) -> None:
        self._engines = {engine.name: engine for engine in engines}
        self._client, self._cache = client, cache
        self._buckets = {
            e.name: TokenBucket(e.settings.rate_per_s, e.settings.burst) for e in engines
        }

    @property
    def names(self) -> list[str]:
        """The engines this fan-out can ask, in configuration order."""
        return list(self._engines)

    def weights(self) -> dict[str, float]:
        """Each engine's weight in the merge."""
        return {name: engine.settings.weight for name, engine in self._engines.items()}

    async def gather(
        self, query: str, names: Sequence[str], count: int, deadline_s: float
    ) -> Gathered:
        """Results from each engine in `names` that answers within its timeout and the deadline."""
        out = Gathered()
        started = time.monotonic()
        tasks = {
            asyncio.create_task(self._one(self._engines[n], query, count, started + deadline_s)): n
            for n in names
        }
        if not tasks:
            return out
        done, pending = await asyncio.wait(tasks, timeout=deadline_s)
        for task in pending:
            task.cancel()
            name = tasks[task]
            out.failed.append(_failure(name, "timeout", f"{name}: no answer within the deadline"))
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            name = tasks[task]
            if (error := task.exception()) is None:
                out.hits[name] = task.result()
            elif isinstance(error, RagError):
                out.failed.append(_failure(name, _reason(error), error.message))
            else:  # Boundary: an engine bug must not take the search down; report it.
                logger.error("search engine %s crashed", name, exc_info=error)
                out.failed.append(_failure(name, "error", f"{name}: {type(error).__name__}"))
        # Configuration order, not arrival order, so that merging is deterministic.
        out.hits = {name: out.hits[name] for name in tasks.values() if name in out.hits}
        out.failed.sort(key=lambda failure: failure.engine)
        return out

    async def _one(
        self, engine: Engine, query: str, count: int, deadline: float
    ) -> list[EngineHit]:
        key = (engine.name, query, count)
        if (cached := self._cache.get(key)) is not None:
            return cached
        timeout = engine.settings.timeout_s
        await self._buckets[engine.name].acquire(
            min(timeout, deadline - time.monotonic()), engine.name
        )
        started = time.monotonic()
        try:
            async with asyncio.timeout(timeout):
                hits = await engine.search(self._client, query, count)
        except asyncio.CancelledError:  # the whole search's deadline passed
            _measure(engine.name, started, "timeout")
            raise
        except TimeoutError as exc:
            _measure(engine.name, started, "timeout")
            raise UpstreamTimeout(f"{engine.name}: no answer within {timeout:g} s") from exc
        except RateLimited as exc:
            _measure(engine.name, started, "rate_limited")
            pause = (
                exc.retry_after_s if exc.retry_after_s is not None else engine.settings.backoff_s
            )
            self._buckets[engine.name].pause(pause)
            logger.warning(
                "search engine %s rate limited us; pausing it for %.0f s", engine.name, pause
            )
            raise
        except Exception:
            _measure(engine.name, started, "error")
            raise
        _measure(engine.name, started, "ok")
        self._cache.put(key, hits)
        return hits


def _measure(engine: str, started: float, outcome: str) -> None:
    SEARCH_ENGINE_REQUESTS.labels(engine, outcome).inc()
    SEARCH_ENGINE_DURATION.labels(engine).observe(time.monotonic() - started)


def _reason(error: RagError) -> str:
    if isinstance(error, RateLimited):
        return "rate_limited"
    if isinstance(error, UpstreamTimeout):
        return "timeout"
    return "error"


def _failure(engine: str, reason: str, message: str) -> EngineFailure:
    return EngineFailure(engine=engine, reason=reason, message=message)

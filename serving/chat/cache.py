"""`AnswerCache`: whole answers with their citations, keyed by everything that shapes them.

The key covers the conversation, the knowledge bases with their content versions (any
upload, replacement or deletion moves a version, so older entries are never hit again and
simply expire), the model the LLM is asked for (the alias's current target, or extractive),
the request's sampling parameters and a fingerprint of the answer settings. Answers that
drew on the web, or that fell back after a failure, are not stored. Hits and misses are
counted in the cache itself, so every replica sees the same figures.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from core.cache.protocol import Cache
from core.errors import UpstreamError
from core.observability.metrics import ANSWER_CACHE
from serving.chat.protocol import ChatCompletionRequest, Citation

logger = logging.getLogger(__name__)

HITS, MISSES = "answers:hits", "answers:misses"


class CachedAnswer(BaseModel):
    """What a hit replays: the answer text, its citations and warnings."""

    content: str
    citations: list[Citation]
    warnings: list[str]


class CacheStats(BaseModel):
    """Answer cache counters, over every replica that shares the cache."""

    backend: str
    hits: int
    misses: int


class AnswerCache:
    """Answers in a `Cache` backend for `ttl_s`; a backend failure is a miss, never an error."""

    def __init__(self, backend: Cache, ttl_s: float, fingerprint: Mapping[str, Any]) -> None:
        self._backend, self._ttl_s = backend, ttl_s
        self._fingerprint = json.dumps(fingerprint, sort_keys=True, default=str)

    def key(
        self,
        request: ChatCompletionRequest,
        kbs: Sequence[str],
        versions: Mapping[str, int],
        model: str,
    ) -> str:
        """The key of an answer to `request` over `kbs` as they are now, from `model`."""
        material = {
            "conversation": [(m.role, m.text) for m in request.messages],
            "kbs": [(kb, versions.get(kb, -1)) for kb in kbs],
            "model": model,
            "temperature": request.temperature,
            "max_tokens": request.max_completion_tokens or request.max_tokens,
            "settings": self._fingerprint,
        }
        digest = hashlib.sha256(json.dumps(material, ensure_ascii=False).encode()).hexdigest()
        return f"answer:{digest}"

    async def get(self, key: str) -> CachedAnswer | None:
        try:
            raw = await self._backend.get(key)
            await self._backend.incr(MISSES if raw is None else HITS)
        except UpstreamError as exc:
            ANSWER_CACHE.labels("error").inc()
            logger.warning("answer cache unavailable: %s", exc.message)
            return None
        ANSWER_CACHE.labels("miss" if raw is None else "hit").inc()
        return None if raw is None else CachedAnswer.model_validate_json(raw)

    async def put(self, key: str, answer: CachedAnswer) -> None:
        try:
            await self._backend.set(key, answer.model_dump_json(), self._ttl_s)
        except UpstreamError as exc:
            logger.warning("answer cache unavailable: %s", exc.message)

    async def stats(self) -> CacheStats:
        hits = await self._backend.counter(HITS)
        misses = await self._backend.counter(MISSES)
        return CacheStats(backend=self._backend.name, hits=hits, misses=misses)

    async def close(self) -> None:
        await self._backend.close()

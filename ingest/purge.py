"""Removes the chunks of hidden generations: replaced versions, deleted documents, crashes."""

from __future__ import annotations

import logging

from core.store import VectorStore, Where
from ingest.registry import Registry

logger = logging.getLogger(__name__)

# Longer than any query takes, so a query that read the hidden set just before a
# replacement still finds the old version's chunks when it reaches the store.
REPLACED_GRACE_S = 30.0


class Purger:
    """Deletes hidden generations' chunks from the store, then forgets the generations."""

    def __init__(self, registry: Registry, store: VectorStore) -> None:
        self._registry = registry
        self._store = store

    async def purge(self, grace_s: float = REPLACED_GRACE_S) -> int:
        generations = self._registry.purgeable(grace_s)
        for generation in generations:
            await self._store.delete(Where(generation=generation))
            self._registry.forget(generation)
        if generations:
            logger.info("purged %d hidden chunk generations", len(generations))
        return len(generations)

    async def recover(self) -> int:
        """At start-up, before serving: finish what a killed process left half done."""
        abandoned = self._registry.retire_staged()
        if abandoned:
            logger.warning("%d interrupted ingestions found; removing their chunks", abandoned)
        return await self.purge(grace_s=0)

    async def purge_now(self, generations: list[str]) -> None:
        """For deletions: the rows are gone already, so the chunks can go at once."""
        for generation in generations:
            await self._store.delete(Where(generation=generation))
            self._registry.forget(generation)

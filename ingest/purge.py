"""Removes the chunks of hidden generations: replaced versions, deleted documents, crashes."""

from __future__ import annotations

import asyncio
import logging

from core.store import VectorStore, Where
from ingest.originals import Originals
from ingest.registry import Registry

logger = logging.getLogger(__name__)

# Longer than any query takes, so a query that read the hidden set just before a
# replacement still finds the old version's chunks when it reaches the store.
REPLACED_GRACE_S = 30.0


class Purger:
    """Deletes hidden generations' chunks from the store, then forgets the generations."""

    def __init__(
        self,
        registry: Registry,
        store: VectorStore,
        originals: Originals,
        grace_s: float = REPLACED_GRACE_S,
    ) -> None:
        self.registry = registry
        self._store = store
        self._originals = originals
        self._grace_s = grace_s

    async def purge(self, grace_s: float | None = None) -> int:
        """Delete the chunks of generations retired at least `grace_s` ago."""
        wait = self._grace_s if grace_s is None else grace_s
        generations = await asyncio.to_thread(self.registry.purgeable, wait)
        for generation in generations:
            await self._drop(generation)
        if generations:
            logger.info("purged %d hidden chunk generations", len(generations))
        return len(generations)

    async def recover(self) -> int:
        """Finish what a killed process left half done, at start-up of an exclusive owner.

        Shared deployments recover by job leases instead (`ingest.worker`).
        """
        abandoned = self.registry.retire_staged()
        if abandoned:
            logger.warning("%d interrupted ingestions found; removing their chunks", abandoned)
        return await self.purge(grace_s=0)

    async def purge_now(self, generations: list[str]) -> None:
        """For deletions: the rows are gone already, so the chunks can go at once."""
        for generation in generations:
            await self._drop(generation)

    async def _drop(self, generation: str) -> None:
        await self._store.delete(Where(generation=generation))
        await asyncio.to_thread(self._originals.discard, generation)
        await asyncio.to_thread(self.registry.forget, generation)

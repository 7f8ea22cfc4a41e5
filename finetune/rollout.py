"""`Rollout`: put a version in service or roll back, keeping vLLM, alias and registry in step.

A version is served by vLLM as `<prefix>-<version>`. Putting one in service goes:

1. load it into vLLM (unless loaded: a rollback target usually still is);
2. point the answer service's model alias at that name;
3. record it in the registry (`set_current`, or `rollback`).

When step 2 or 3 fails, the alias is pointed back where it was and an adapter step 1 loaded
is unloaded again (both best effort, and logged), then the error goes on: the registry and
what answers use are as before. Only after step 3 are adapters that fell out of the keep
window unloaded (`prune`): the one in service, the previous one and up to `keep_previous`
older ones in all stay loaded, and adapters not named with our prefix are never touched.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from core.errors import Conflict, RagError
from finetune.manifest import VersionInfo, version_number
from finetune.publish import Alias, AliasClient, VllmAdapters
from finetune.registry import AdapterRegistry
from finetune.settings import FinetuneSettings

logger = logging.getLogger(__name__)


class Rollout:
    """Promotion, rollback and upkeep of the served adapters for one registry."""

    def __init__(
        self,
        settings: FinetuneSettings,
        registry: AdapterRegistry,
        vllm: VllmAdapters,
        alias: AliasClient,
    ) -> None:
        self._settings = settings.vllm
        self._registry = registry
        self._vllm = vllm
        self._alias = alias

    def served_name(self, version: str) -> str:
        """The model name vLLM serves `version` under."""
        return f"{self._settings.name_prefix}-{version}"

    def served_path(self, info: VersionInfo) -> str:
        """The version's folder as vLLM sees it."""
        if self._settings.adapters_path is None:
            return str(info.path)
        inside = info.path.relative_to(self._registry.root).as_posix()
        return posixpath.join(self._settings.adapters_path, inside)

    def promote(self, version: str) -> str:
        """Put `version` in service; returns the name it is served under."""
        info = self._registry.get(version)
        self._switch(info, lambda: self._registry.set_current(version))
        self.prune()
        return self.served_name(version)

    def rollback(self) -> str:
        """Put the previous version back in service; returns that version."""
        previous = self._registry.previous()
        if previous is None:
            raise Conflict("there is no previous version to roll back to")
        self._switch(previous, self._registry.rollback)
        self.prune()
        return previous.version

    def prune(self) -> list[str]:
        """Unload our adapters outside the keep window (best effort); returns those unloaded."""
        try:
            keep = self._keep()
            gone = [name for name in self._vllm.loaded() if self._ours(name) and name not in keep]
            return [name for name in gone if self._vllm.unload(name)]
        except Exception as exc:  # the switch is done; tidying up must not undo or fail it
            logger.warning("could not unload older adapters: %s", exc)
            return []

    def reconcile(self) -> bool:
        """Reload the adapter in service if vLLM lost it (a restart); True when it was."""
        current = self._registry.current()
        if current is None:
            return False
        name = self.served_name(current.version)
        loaded = self._vllm.ensure_loaded(name, self.served_path(current))
        if loaded:
            logger.warning("vLLM had lost %s; loaded it again", name)
        if (alias := self._alias.get()).model != name:
            logger.warning("the model alias points at %s, the registry at %s", alias.model, name)
        return loaded

    def _switch(self, info: VersionInfo, record: Callable[[], object]) -> None:
        name = self.served_name(info.version)
        before = self._alias.get()
        loaded = self._vllm.ensure_loaded(name, self.served_path(info))
        try:
            self._alias.set(name)
            record()
        except BaseException:
            self._undo(before, name if loaded else None)
            raise
        logger.info("%s is in service as %s", info.version, name)

    def _undo(self, before: Alias, loaded: str | None) -> None:
        try:
            self._alias.set(before.target)
        except RagError as exc:
            logger.error("could not point the alias back at %s: %s", before.model, exc.message)
        if loaded is None:
            return
        try:
            self._vllm.unload(loaded)
        except RagError as exc:
            logger.error("could not unload %s again: %s", loaded, exc.message)

    def _keep(self) -> set[str]:
        keep = {self._alias.get().model}  # whatever answers use now stays, whoever set it
        if current := self._registry.current():
            keep.add(self.served_name(current.version))
        older = [v.version for v in self._registry.list_versions() if v.status == "retired"]
        older.sort(key=lambda v: version_number(v) or 0, reverse=True)
        if previous := self._registry.previous():
            older.insert(0, previous.version)
        kept = list(dict.fromkeys(older))[: self._settings.keep_previous]
        return keep | {self.served_name(v) for v in kept}

    def _ours(self, name: str) -> bool:
        return name.startswith(f"{self._settings.name_prefix}-v")


@contextmanager
def open_rollout(settings: FinetuneSettings, registry: AdapterRegistry) -> Iterator[Rollout]:
    """A `Rollout` with its HTTP clients, closed at the end."""
    vllm = VllmAdapters(settings.vllm)
    alias = AliasClient(settings.answer_service)
    try:
        yield Rollout(settings, registry, vllm, alias)
    finally:
        vllm.close()
        alias.close()

"""`AdapterRegistry`: immutable adapter versions on disk and the state that says which serves.

Layout under `root`:

    adapters/<version>/   adapter files, manifest.json, eval.json; never modified once there
    adapters/.tmp-*       a version being written (removed on open if a crash left one)
    registry.json         statuses, current and previous version, runs log
    .registry.json.*.tmp  a state being written (removed on open)
    .lock                 flock held while a version folder is written
    .state.lock           flock held while registry.json is changed (embedded)

The state (statuses, current and previous version, runs log) is kept by a `StateStore`:
`registry.json` here when embedded, the shared metadata store in services mode.

A version is written into a temporary folder beside the others, every file fsynced and made
read-only, then renamed into place: a folder under its version name is always complete.
A version folder whose registration a crash prevented is listed as a candidate.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.db.engine import Database
from core.db.migrate import upgrade
from core.errors import Conflict, InvalidRequest, NotFound
from finetune.manifest import (
    Manifest,
    RegistryState,
    RunRecord,
    Status,
    VersionEntry,
    VersionInfo,
    fingerprint,
    library_versions,
    version_name,
    version_number,
)
from finetune.settings import FinetuneSettings
from finetune.state import DatabaseState, FileState, StateStore, fsync_path

STATE = "registry.json"
RESERVED = ("manifest.json", "eval.json")
MAX_RUNS = 500


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")


class AdapterRegistry:
    """Adapter versions under `root` and their registry; safe against crashes at any point."""

    def __init__(self, root: Path, state: StateStore | None = None) -> None:
        """`state` defaults to `registry.json` in `root`."""
        self.root = root
        self._adapters = root / "adapters"
        self._adapters.mkdir(parents=True, exist_ok=True)
        with self._locked():
            for leftover in self._adapters.glob(".tmp-*"):
                shutil.rmtree(leftover, ignore_errors=True)
            self._store = state or FileState(root)

    def create_version(
        self,
        adapter_dir: Path,
        *,
        base_model: Path,
        parent: str | None,
        data: dict[str, Any],
        settings: dict[str, Any],
        metrics: dict[str, Any],
        gate: dict[str, Any] | None,
        eval_report: dict[str, Any],
        status: Status = "candidate",
    ) -> VersionInfo:
        """Copy a trained adapter in as a new immutable version with its manifest and report."""
        if not (adapter_dir / "adapter_config.json").is_file():
            raise InvalidRequest(f"{adapter_dir} holds no adapter_config.json")
        if clash := [name for name in RESERVED if (adapter_dir / name).exists()]:
            raise InvalidRequest(f"{adapter_dir} already holds {clash}")
        if status == "promoted":
            raise InvalidRequest("a new version starts as a candidate; promote it with set_current")
        if parent is not None:
            self.get(parent)
        with self._locked(), self._store.update() as state:
            now = dt.datetime.now(dt.UTC)
            names = [*state.versions, *(p.name for p in self._adapters.iterdir())]
            numbers = [version_number(name) or 0 for name in names]
            version = version_name(max([0, *numbers]) + 1, now)
            manifest = Manifest(
                version=version, created_at=now, base_model=str(base_model),
                base_model_fingerprint=fingerprint(base_model), parent=parent, data=data,
                settings=settings, metrics=metrics, gate=gate, libraries=library_versions(),
            )  # fmt: skip
            self._write_version(adapter_dir, version, manifest, eval_report)
            state.versions[version] = VersionEntry(status=status)
        return self.get(version)

    def __enter__(self) -> AdapterRegistry:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the state store's connections."""
        self._store.close()

    def list_versions(self) -> list[VersionInfo]:
        """Every complete version, oldest first."""
        names = sorted(p.name for p in self._adapters.iterdir() if version_number(p.name))
        return [self.get(name) for name in names]

    def get(self, version: str) -> VersionInfo:
        """One version; NotFound when there is no such complete version."""
        path = self._adapters / version
        if version_number(version) is None or not (path / "manifest.json").is_file():
            raise NotFound(f"no adapter version {version!r} in {self._adapters}")
        manifest = Manifest.model_validate_json((path / "manifest.json").read_text("utf-8"))
        entry = self._state().versions.get(version, VersionEntry(status="candidate"))
        return VersionInfo(version=version, path=path, status=entry.status, manifest=manifest)

    def current(self) -> VersionInfo | None:
        """The version in service, if any."""
        current = self._state().current
        return self.get(current) if current else None

    def previous(self) -> VersionInfo | None:
        """The version `rollback` would put back in service, if any."""
        previous = self._state().previous
        return self.get(previous) if previous else None

    def mark(self, version: str, status: Status) -> None:
        """Set a version's status (candidate, rejected, retired); promotion is `set_current`."""
        if status == "promoted":
            raise InvalidRequest("promote a version with set_current")
        self.get(version)
        with self._store.update() as state:
            if state.current == version:
                raise Conflict(f"{version} is in service; promote another or roll back first")
            state.versions[version] = VersionEntry(status=status)

    def set_current(self, version: str) -> None:
        """Put `version` in service; the one it replaces becomes `previous` (and retired)."""
        self.get(version)
        with self._store.update() as state:
            if state.current == version:
                return
            if state.current:
                state.versions[state.current] = VersionEntry(status="retired")
                state.previous = state.current
            state.current = version
            state.versions[version] = VersionEntry(status="promoted")

    def rollback(self) -> str:
        """Put `previous` back in service and retire the current one; returns the version."""
        with self._store.update() as state:
            if not state.previous or not state.current:
                raise Conflict("there is no previous version to roll back to")
            state.versions[state.current] = VersionEntry(status="retired")
            state.versions[state.previous] = VersionEntry(status="promoted")
            state.current, state.previous = state.previous, None
            return state.current

    def record_run(self, run: RunRecord) -> None:
        """Add a run to the log, or update it (same id); the log keeps the last 500."""
        with self._store.update() as state:
            state.runs = [r for r in state.runs if r.id != run.id] + [run]
            state.runs = state.runs[-MAX_RUNS:]

    def runs(self) -> list[RunRecord]:
        """The runs log, oldest first."""
        return list(self._state().runs)

    def _write_version(
        self, adapter_dir: Path, version: str, manifest: Manifest, eval_report: dict[str, Any]
    ) -> None:
        temporary = self._adapters / f".tmp-{uuid.uuid4().hex}"
        try:
            shutil.copytree(adapter_dir, temporary)
            _write_json(temporary / "eval.json", eval_report)
            (temporary / "manifest.json").write_text(manifest.model_dump_json(indent=1), "utf-8")
            for path in temporary.rglob("*"):
                if path.is_file():
                    path.chmod(0o444)  # immutable from now on, against accidents
                fsync_path(path)
            fsync_path(temporary)
            os.rename(temporary, self._adapters / version)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
        fsync_path(self._adapters)

    def _state(self) -> RegistryState:
        return self._store.load()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with (self.root / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def open_registry(settings: FinetuneSettings) -> AdapterRegistry:
    """The registry of `settings.adapters_dir`, its state where the settings say.

    In the shared metadata store when `database_url` names one (taking over an embedded
    `registry.json` once), else `registry.json` on disk.
    """
    if settings.database_url is None:
        return AdapterRegistry(settings.adapters_dir)
    db = Database(settings.database_url)
    try:
        upgrade(db)
        state = DatabaseState(db)
        state.import_legacy(settings.adapters_dir)
    except BaseException:
        db.close()
        raise
    return AdapterRegistry(settings.adapters_dir, state)

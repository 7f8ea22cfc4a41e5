"""Where the adapter registry's state lives: `registry.json`, or the shared metadata store.

The state (each version's status, the one in service, the previous one, the runs log with
the collection cursor) is small and changes only under a lock. Embedded, it is a JSON file
replaced atomically. In services mode the scheduler, a `kb finetune` typed on another host and
the API replicas share PostgreSQL, so the state is one row of `shared_state`, changed in a
transaction that holds an advisory lock (SQLite: the write lock), never a file one host owns.
"""

from __future__ import annotations

import fcntl
import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from sqlalchemy import select, text

from core.db.engine import Database
from core.db.schema import shared_state, utc_now
from finetune.manifest import RegistryState

logger = logging.getLogger(__name__)

STATE = "registry.json"
KEY = "finetune.registry"
# Any fixed number: it names "the fine-tuning registry" among PostgreSQL advisory locks.
_LOCK_KEY = 0x6B62_4654


class StateStore(Protocol):
    """The registry's state: read it, or change it with no other change in between."""

    def load(self) -> RegistryState: ...

    @contextmanager
    def update(self) -> Iterator[RegistryState]:
        """The state to change in place; saved when the block ends without an error."""
        ...

    def close(self) -> None: ...


def fsync_path(path: Path) -> None:
    """Flush a file's or a folder's entry to disk (a rename is durable once its folder is)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class FileState:
    """`registry.json` in `root`, replaced with `os.replace` after an fsync: old or new, whole."""

    def __init__(self, root: Path) -> None:
        self.path = root / STATE
        self._lock = root / ".state.lock"
        self._lock.touch()
        for leftover in root.glob(f".{STATE}.*.tmp"):
            leftover.unlink(missing_ok=True)

    def load(self) -> RegistryState:
        try:
            return RegistryState.model_validate_json(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return RegistryState()

    @contextmanager
    def update(self) -> Iterator[RegistryState]:
        with self._lock.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                state = self.load()
                yield state
                self._save(state)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def close(self) -> None:
        pass

    def _save(self, state: RegistryState) -> None:
        temporary = self.path.with_name(f".{STATE}.{uuid.uuid4().hex}.tmp")
        try:
            with temporary.open("w", encoding="utf-8") as file:
                file.write(state.model_dump_json(indent=1))
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        fsync_path(self.path.parent)


class DatabaseState:
    """One `shared_state` row; `update` is one transaction under the registry's lock."""

    def __init__(self, db: Database) -> None:
        """Owns `db` from now on: `close` closes it."""
        self._db = db

    def close(self) -> None:
        self._db.close()

    def load(self) -> RegistryState:
        with self._db.read() as conn:
            stored = conn.execute(select(shared_state.c.value).where(shared_state.c.key == KEY))
            value = stored.scalar()
        return RegistryState.model_validate_json(value) if value else RegistryState()

    @contextmanager
    def update(self) -> Iterator[RegistryState]:
        with self._db.write() as conn:
            if not self._db.is_sqlite:  # SQLite's write transaction is already exclusive
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
            stored = conn.execute(select(shared_state.c.value).where(shared_state.c.key == KEY))
            value = stored.scalar()
            state = RegistryState.model_validate_json(value) if value else RegistryState()
            yield state
            row = {"key": KEY, "value": state.model_dump_json(), "updated_at": utc_now()}
            conn.execute(shared_state.delete().where(shared_state.c.key == KEY))
            conn.execute(shared_state.insert().values(**row))

    def import_legacy(self, root: Path) -> None:
        """Take over a `registry.json` an embedded install kept, once, when the store has none."""
        legacy = root / STATE
        if not legacy.exists():
            return
        with self.update() as state:
            if state.versions or state.runs:
                logger.warning("%s ignored: the metadata store already has a registry", legacy)
                return
            taken = FileState(root).load()
            state.versions, state.runs = taken.versions, taken.runs
            state.current, state.previous = taken.current, taken.previous
        legacy.rename(legacy.with_name(STATE + ".imported"))
        logger.info("fine-tuning registry taken over from %s", legacy)

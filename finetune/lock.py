"""`run_lock`: the file lock that keeps runs, promotions and rollbacks from overlapping.

An exclusive `flock` on one file, taken without waiting: it holds across processes (the
scheduler's container, a `kb finetune` typed by hand), and the kernel drops it when its
holder dies, so a crash never leaves it stuck.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.errors import Conflict


class Busy(Conflict):
    """Another run or promotion holds the run lock."""


@contextmanager
def run_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on `path` for the block; Busy at once if someone has it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise Busy(f"another fine-tuning run or promotion holds {path}") from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)

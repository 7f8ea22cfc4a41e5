"""One process owns a data folder at a time; others learn who, and where it listens.

The owner holds an exclusive `flock` on `<data>/kb.lock` for its lifetime and writes its PID
and, for a server, its URL into it. The kernel drops the lock when the process dies, so a
killed server never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import IO, Any

from core.errors import DataFolderBusy

LOCK_NAME = "kb.lock"


def read_owner(data_dir: Path) -> dict[str, Any]:
    """The PID and URL the owner wrote, or {} when unreadable."""
    try:
        value = json.loads((data_dir / LOCK_NAME).read_text() or "{}")
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


class DataFolder:
    """An exclusive claim on a data folder; release it with `release()` or by exiting."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    def claim(self, server_url: str | None = None) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        handle = (self.path / LOCK_NAME).open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            owner = read_owner(self.path)
            pid, url = owner.get("pid"), owner.get("url")
            where = f" (serving at {url})" if url else ""
            raise DataFolderBusy(
                f"data folder {self.path} in use by PID {pid or 'unknown'}{where}",
                pid=pid if isinstance(pid, int) else None,
                server_url=url if isinstance(url, str) else None,
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "url": server_url}))
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.seek(0)
            self._handle.truncate()
            self._handle.flush()
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

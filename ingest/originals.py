"""The original file of every live document version, for viewers that show the cited page.

Kept per generation (`<root>/<gg>/<generation><suffix>`), so a replaced version's file goes
when its chunks are purged, and a version whose ingestion failed never leaves one behind.
The folder is shared like the uploads folder: whichever replica renders a page reads the file
the worker kept. Uploads are hard-linked when they live on the same file system (no copy).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


class Originals:
    """Files by generation under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, generation: str, source: str) -> Path:
        """Where the original of `generation` (named `source` by its owner) is kept."""
        suffix = Path(source).suffix.lower()
        return self.root / generation[:2] / f"{generation}{suffix}"

    def keep(self, generation: str, source: str, file: Path) -> Path:
        target = self.path(generation, source)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        try:
            os.link(file, partial)
        except OSError:  # another file system, or links not allowed: copy instead
            shutil.copyfile(file, partial)
        partial.replace(target)
        return target

    def discard(self, generation: str) -> None:
        for found in (self.root / generation[:2]).glob(f"{generation}*"):
            found.unlink(missing_ok=True)

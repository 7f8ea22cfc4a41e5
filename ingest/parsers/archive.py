"""Zip-bomb guard for zip-based formats, run on the central directory before any inflating."""

from __future__ import annotations

import zipfile
from pathlib import Path

from core.errors import CorruptDocument, UnsafeArchive
from ingest.parsers.sniff import is_ole2, ole2_error

MAX_ENTRIES = 10_000
MAX_RATIO = 200
# Ratios are only suspicious for big members: small XML parts legitimately compress 100:1.
RATIO_FLOOR_BYTES = 10 * 1024 * 1024


def check_zip(path: Path, filename: str, *, max_unzipped_bytes: int, required: str) -> None:
    """Raise UnsafeArchive or CorruptDocument unless the zip is safe to open.

    Python's zipfile never inflates a member past its declared size (the CRC check fails
    first), so bounding the declared sizes bounds what opening the package can cost.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        with path.open("rb") as file:
            head = file.read(8)
        if is_ole2(head):
            raise ole2_error(path, filename) from exc
        raise CorruptDocument(f"{filename}: not a readable zip package ({exc})") from exc
    if len(entries) > MAX_ENTRIES:
        raise UnsafeArchive(f"{filename}: {len(entries)} zip entries (the limit is {MAX_ENTRIES})")
    total = sum(entry.file_size for entry in entries)
    if total > max_unzipped_bytes:
        raise UnsafeArchive(
            f"{filename}: would decompress to {total:,} bytes "
            f"(the limit is {max_unzipped_bytes:,}; KB_MAX_UNZIPPED_BYTES raises it)"
        )
    for entry in entries:
        ratio = entry.file_size / max(entry.compress_size, 1)
        if ratio > MAX_RATIO and entry.file_size > RATIO_FLOOR_BYTES:
            raise UnsafeArchive(
                f"{filename}: zip entry {entry.filename} expands {ratio:,.0f}:1 "
                f"to {entry.file_size:,} bytes (a zip bomb?)"
            )
    if required not in {entry.filename for entry in entries}:
        raise CorruptDocument(f"{filename}: the zip package has no {required}")

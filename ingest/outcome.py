"""What happened to one file, and the progress events a running ingestion emits."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class Outcome(StrEnum):
    """The fate of one file in a batch."""

    INGESTED = "ingested"
    REPLACED = "replaced"
    UNCHANGED = "unchanged"
    DUPLICATE = "duplicate"
    FAILED = "failed"


@dataclass(frozen=True)
class FileResult:
    """One file's outcome; `reason` is a short code and `message` a sentence for people."""

    name: str
    outcome: Outcome
    doc_id: str | None = None
    pages: int = 0
    chunks: int = 0
    reason: str | None = None
    message: str | None = None


class ProgressSink(Protocol):
    """Receives progress while files are ingested (the CLI's bar, a job's live counters)."""

    def file_started(self, name: str, size_bytes: int) -> None: ...

    def pages_parsed(self, name: str, pages: int) -> None: ...

    def chunks_embedded(self, name: str, count: int) -> None: ...

    def file_finished(self, result: FileResult) -> None: ...


class NullProgress:
    """A sink that ignores everything."""

    def file_started(self, name: str, size_bytes: int) -> None:
        pass

    def pages_parsed(self, name: str, pages: int) -> None:
        pass

    def chunks_embedded(self, name: str, count: int) -> None:
        pass

    def file_finished(self, result: FileResult) -> None:
        pass

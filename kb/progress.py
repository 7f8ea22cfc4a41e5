"""The `kb ingest` progress bar and closing summary, drawn with rich."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from ingest.outcome import FileResult, Outcome

_STYLE = {
    Outcome.INGESTED: "green",
    Outcome.REPLACED: "cyan",
    Outcome.UNCHANGED: "dim",
    Outcome.DUPLICATE: "yellow",
    Outcome.FAILED: "bold red",
}


class BarProgress:
    """A ProgressSink that drives a live bar: files, pages, chunks, chunk rate, ETA."""

    def __init__(self, console: Console, total_files: int) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("files · {task.fields[pages]} pages · {task.fields[chunks]} chunks"),
            TextColumn("· {task.fields[rate]} chunks/s"),
            TextColumn("· ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._task: TaskID = self._progress.add_task(
            "ingesting", total=total_files, pages=0, chunks=0, rate="0.0"
        )
        self._pages = 0
        self._chunks = 0
        self._started = time.monotonic()

    def __enter__(self) -> BarProgress:
        self._progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._progress.update(self._task, description="done")
        self._progress.stop()

    def _refresh(self, **fields: Any) -> None:
        rate = self._chunks / max(time.monotonic() - self._started, 1e-6)
        self._progress.update(
            self._task, pages=self._pages, chunks=self._chunks, rate=f"{rate:.1f}", **fields
        )

    def file_started(self, name: str, size_bytes: int) -> None:
        self._refresh(description=_short(name))

    def pages_parsed(self, name: str, pages: int) -> None:
        self._pages += pages
        self._refresh()

    def chunks_embedded(self, name: str, count: int) -> None:
        self._chunks += count
        self._refresh()

    def file_finished(self, result: FileResult) -> None:
        self._progress.advance(self._task)
        self._refresh()

    def set_totals(self, files_done: int, pages: int, chunks: int, current: str | None) -> None:
        """For a remote job: the server reports counters instead of events."""
        self._pages, self._chunks = pages, chunks
        self._progress.update(self._task, completed=files_done)
        self._refresh(description=_short(current or "ingesting"))


def _short(name: str, width: int = 28) -> str:
    return name if len(name) <= width else "…" + name[-(width - 1) :]


LIST_ALL_UP_TO = 50


def summary(console: Console, results: Sequence[FileResult]) -> None:
    """A row per file (only those that need attention in big batches), then the totals."""
    table = Table(title="kb ingest", show_lines=False)
    for column in ("file", "outcome", "pages", "chunks", "detail"):
        table.add_column(column, justify="right" if column in ("pages", "chunks") else "left")
    listed = results
    if len(results) > LIST_ALL_UP_TO:
        listed = [r for r in results if r.outcome in (Outcome.FAILED, Outcome.DUPLICATE)]
        table.caption = (
            f"{len(results) - len(listed)} ingested, replaced or unchanged files not listed"
        )
    for result in listed:
        style = _STYLE[result.outcome]
        table.add_row(
            result.name,
            f"[{style}]{result.outcome.value}[/]",
            str(result.pages or ""),
            str(result.chunks or ""),
            result.message or "",
        )
    console.print(table)
    counts = Counter(result.outcome for result in results)
    console.print(
        " · ".join(f"[{_STYLE[o]}]{o.value} {counts.get(o, 0)}[/]" for o in Outcome),
        highlight=False,
    )

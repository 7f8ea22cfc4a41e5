"""`kb ingest`: in this process when the data folder is free, else through the running server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path

from rich.console import Console

from ingest.client import UPLOAD_BATCH_FILES, IngestClient
from ingest.jobs import JobFile
from ingest.outcome import FileResult, Outcome
from ingest.protocol import JobFileOut
from ingest.runtime import IngestRuntime
from ingest.settings import IngestSettings
from kb.local_or_remote import local_or_remote, server_headers
from kb.progress import BarProgress

POLL_S = 0.5


def collect(paths: Iterable[Path]) -> tuple[list[tuple[Path, str]], list[FileResult]]:
    """Files to ingest as (path, source name), and failures for paths that do not exist.

    A file's source name is its base name; files found in a folder are named by their path
    relative to that folder, so `kb ingest docs/` and `kb ingest docs/a.pdf` agree on `a.pdf`.
    """
    files: list[tuple[Path, str]] = []
    missing: list[FileResult] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and not _hidden(p, path))
            files.extend((p, p.relative_to(path).as_posix()) for p in found)
        elif path.is_file():
            files.append((path, path.name))
        else:
            message = "no such file or folder"
            missing.append(FileResult(str(path), Outcome.FAILED, reason="missing", message=message))
    return files, missing


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


async def run_ingest(
    settings: IngestSettings, kb: str, files: list[tuple[Path, str]], console: Console
) -> list[FileResult]:
    """Ingest locally, or hand the files to the server that owns the data folder."""

    async def local(runtime: IngestRuntime) -> list[FileResult]:
        if kb not in runtime.registry.kb_names():
            runtime.registry.create_kb(kb)
        return await _ingest_here(runtime, kb, files, console)

    async def remote(url: str) -> list[FileResult]:
        console.print(f"data folder in use by the server at {url}: sending files to it")
        return await _ingest_remote(url, kb, files, console)

    console.print("loading the embedding model and the store…")
    return await local_or_remote(settings, local, remote)


async def _ingest_here(
    runtime: IngestRuntime, kb: str, files: list[tuple[Path, str]], console: Console
) -> list[FileResult]:
    """As a job this process leases and runs itself: crash recovery works as for uploads."""
    listed = [
        JobFile(i, source, str(path.resolve()), _size(path), upload=False)
        for i, (path, source) in enumerate(files)
    ]
    job = runtime.jobs.create(kb, listed, claimable_by=runtime.worker.name)
    with BarProgress(console, len(files)) as bar:
        done = await runtime.worker.run_job(job.id, bar)
    if runtime.folder is not None:
        # This process owns the folder, so no query can still be reading replaced chunks.
        await runtime.purger.purge(grace_s=0)
    return [_result(f, done.error) for f in done.files]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _result(file: JobFile | JobFileOut, error: str | None) -> FileResult:
    return FileResult(
        file.name, Outcome(file.outcome or "failed"), file.doc_id, file.pages, file.chunks,
        file.reason, file.message or (error if file.outcome is None else None),
    )  # fmt: skip


async def _ingest_remote(
    url: str, kb: str, files: list[tuple[Path, str]], console: Console
) -> list[FileResult]:
    results: list[FileResult] = []
    pages_before = chunks_before = 0
    async with IngestClient(url, headers=server_headers()) as client:
        await client.ensure_kb(kb)
        with BarProgress(console, len(files)) as bar:
            for start in range(0, len(files), UPLOAD_BATCH_FILES):
                job = await client.upload(kb, files[start : start + UPLOAD_BATCH_FILES])
                while job.status in ("queued", "running"):
                    progress = job.progress
                    bar.set_totals(
                        start + progress.files_done,
                        pages_before + progress.pages,
                        chunks_before + progress.chunks,
                        progress.current_file,
                    )
                    await asyncio.sleep(POLL_S)
                    job = await client.job(job.id)
                results.extend(_result(f, job.error) for f in job.files)
                pages_before += sum(f.pages for f in job.files)
                chunks_before += sum(f.chunks for f in job.files)
                bar.set_totals(start + len(job.files), pages_before, chunks_before, None)
    return results

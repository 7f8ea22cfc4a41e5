"""The background worker that ingests queued jobs one file at a time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from ingest.jobs import Job, JobFile, JobStore
from ingest.outcome import FileResult
from ingest.pipeline import Ingestor
from ingest.purge import Purger

logger = logging.getLogger(__name__)


@dataclass
class LiveProgress:
    """Counters of the running job, for `GET /v1/jobs/{id}` between file outcomes."""

    current_file: str | None = None
    pages: int = 0
    chunks: int = 0
    started_monotonic: float = 0.0

    def file_started(self, name: str, size_bytes: int) -> None:
        self.current_file = name

    def pages_parsed(self, name: str, pages: int) -> None:
        self.pages += pages

    def chunks_embedded(self, name: str, count: int) -> None:
        self.chunks += count

    def file_finished(self, result: FileResult) -> None:
        self.current_file = None


class JobRunner:
    """Owns the job queue; `start()` resumes unfinished jobs, `stop()` cancels the worker."""

    def __init__(
        self, jobs: JobStore, ingestor: Ingestor, purger: Purger, uploads_dir: Path
    ) -> None:
        self.jobs = jobs
        self._ingestor = ingestor
        self._purger = purger
        self._uploads = uploads_dir
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self.live: dict[str, LiveProgress] = {}

    def new_upload_dir(self) -> tuple[str, Path]:
        job_id = uuid.uuid4().hex[:16]
        folder = self._uploads / job_id
        folder.mkdir(parents=True, exist_ok=True)
        return job_id, folder

    def submit(self, job_id: str, kb: str, files: list[JobFile]) -> Job:
        job = self.jobs.create(kb, files, job_id)
        self._queue.put_nowait(job.id)
        return job

    async def start(self) -> None:
        for job_id in self.jobs.unfinished():
            logger.info("resuming interrupted job %s", job_id)
            self._queue.put_nowait(job_id)
        self._worker = asyncio.create_task(self._work(), name="ingest-worker")

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker

    async def _work(self) -> None:
        while True:
            job_id = await self._queue.get()
            try:
                await self._run(job_id)
            except Exception:
                # Boundary: a job that breaks is recorded as failed; the worker keeps serving.
                logger.exception("job %s failed", job_id)
                self.jobs.set_status(job_id, "failed", error="internal error; see the server log")
            finally:
                self.live.pop(job_id, None)

    async def _run(self, job_id: str) -> None:
        job = self.jobs.get(job_id)
        self.jobs.set_status(job_id, "running")
        live = self.live.setdefault(job_id, LiveProgress(started_monotonic=time.monotonic()))
        for file in job.files:
            if file.outcome is not None:
                live.pages += file.pages
                live.chunks += file.chunks
                continue
            path = Path(file.stored_path)
            result = await self._ingestor.ingest(job.kb, path, file.name, live)
            self.jobs.record(job_id, file.position, result)
            await asyncio.to_thread(path.unlink, missing_ok=True)
        await asyncio.to_thread(shutil.rmtree, self._uploads / job_id, ignore_errors=True)
        await self._purger.purge()
        await self._ingestor.optimize()
        self.jobs.set_status(job_id, "done")

"""`Worker`: claims jobs from the shared store and ingests them, renewing its lease meanwhile.

Any number of workers, in any number of processes and hosts, share one queue: the jobs table.
`kb serve` runs one in-process in embedded mode; `python -m ingest worker` runs one on its
own in services mode. A worker that loses its lease (it stalled past the deadline and another
worker took the job) stops at once; nothing it staged goes live (`Registry.commit`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid

from sqlalchemy import Connection

from core.errors import LeaseLost
from ingest.jobs import Job, JobStore, Lease
from ingest.outcome import FileResult, NullProgress, Outcome, ProgressSink
from ingest.pipeline import Ingestor
from ingest.purge import Purger
from ingest.settings import WorkerSettings
from ingest.uploads import Uploads

logger = logging.getLogger(__name__)

COMMITTED = (Outcome.INGESTED, Outcome.REPLACED)


def worker_name() -> str:
    """Host, PID and a random tail: unique among the workers of a deployment."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    """Runs one job at a time; `run()` loops until cancelled."""

    def __init__(
        self,
        jobs: JobStore,
        ingestor: Ingestor,
        purger: Purger,
        uploads: Uploads,
        settings: WorkerSettings,
        name: str | None = None,
    ) -> None:
        self.jobs, self._ingestor, self._purger = jobs, ingestor, purger
        self._uploads, self._settings = uploads, settings
        self.name = name or worker_name()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """A job was queued in this process: look now instead of at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        next_janitor = 0.0
        while True:
            if time.monotonic() >= next_janitor:
                await self._janitor()
                next_janitor = time.monotonic() + self._settings.janitor_s
            lease = await asyncio.to_thread(self.jobs.claim, self.name, self._settings.lease_s)
            if lease is not None:
                await self.run_job(lease)
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._settings.poll_s)

    async def run_job(self, lease: Lease, sink: ProgressSink | None = None) -> Job | None:
        """Ingest the job's remaining files; the finished job, or None if the lease was lost."""
        logger.info("worker %s took job %s", self.name, lease.job_id)
        me = asyncio.current_task()
        assert me is not None
        lost = asyncio.Event()
        heartbeat = asyncio.create_task(self._heartbeat(lease, me, lost), name="lease")
        try:
            await self._files(lease, sink or NullProgress())
        except (LeaseLost, asyncio.CancelledError) as exc:
            if not lost.is_set() and not isinstance(exc, LeaseLost):
                raise  # cancelled from outside: shutting down, the lease will run out
            me.uncancel()
            logger.warning("worker %s lost job %s to another worker", self.name, lease.job_id)
            return None
        except Exception:
            # Boundary: a job that breaks is recorded as failed; the worker goes on.
            logger.exception("job %s failed", lease.job_id)
            self.jobs.finish(lease, "failed", error="internal error; see the worker's log")
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        return await asyncio.to_thread(self.jobs.get, lease.job_id)

    async def _files(self, lease: Lease, sink: ProgressSink) -> None:
        job = await asyncio.to_thread(self.jobs.get, lease.job_id)
        live = LiveProgress(self.jobs, lease, sink, job)
        for file in job.files:
            if file.outcome is not None:
                continue
            path = self._uploads.path(file)

            def record(conn: Connection, result: FileResult, position: int = file.position) -> None:
                self.jobs.record_in(conn, lease, position, result)

            result = await self._ingestor.ingest(
                job.kb, path, file.name, live, job_id=lease.job_id, on_commit=record
            )
            if result.outcome not in COMMITTED:
                await asyncio.to_thread(self.jobs.record, lease, file.position, result)
            if file.upload:
                await asyncio.to_thread(path.unlink, missing_ok=True)
        await asyncio.to_thread(self._uploads.discard, lease.job_id)
        await self._purger.purge()
        await self._ingestor.optimize()
        await asyncio.to_thread(self.jobs.finish, lease, "done")

    async def _heartbeat(
        self, lease: Lease, job: asyncio.Task[object], lost: asyncio.Event
    ) -> None:
        interval = self._settings.lease_s / 3
        while True:
            await asyncio.sleep(interval)
            try:
                ours = await asyncio.to_thread(self.jobs.renew, lease, self._settings.lease_s)
            except Exception:
                # Boundary: the database is briefly unreachable; the lease has two more tries.
                logger.exception("renewing the lease on job %s failed", lease.job_id)
                continue
            if not ours:
                lost.set()
                job.cancel()
                return

    async def _janitor(self) -> None:
        try:
            retired = await asyncio.to_thread(self._purger.registry.retire_orphans)
            if retired:
                logger.warning("retired %d generations left staged by dead workers", retired)
            await self._purger.purge()
        except Exception:
            # Boundary: cleaning up is retried at the next round; hidden chunks stay hidden.
            logger.exception("the ingest janitor failed")


class LiveProgress:
    """Forwards progress to `sink` and keeps the job's live counters in the store."""

    def __init__(self, jobs: JobStore, lease: Lease, sink: ProgressSink, job: Job) -> None:
        self._jobs, self._lease, self._sink = jobs, lease, sink
        done = [f for f in job.files if f.outcome is not None]
        self.pages = sum(f.pages for f in done)
        self.chunks = sum(f.chunks for f in done)
        self._current: str | None = None
        self._saved = 0.0

    def _save(self, force: bool = False) -> None:
        # At most twice a second: readers poll, and a row update per batch would be noise.
        if force or time.monotonic() - self._saved >= 0.5:
            self._jobs.progress(self._lease, self._current, self.pages, self.chunks)
            self._saved = time.monotonic()

    def file_started(self, name: str, size_bytes: int) -> None:
        self._current = name
        self._sink.file_started(name, size_bytes)
        self._save(force=True)

    def pages_parsed(self, name: str, pages: int) -> None:
        self.pages += pages
        self._sink.pages_parsed(name, pages)
        self._save()

    def chunks_embedded(self, name: str, count: int) -> None:
        self.chunks += count
        self._sink.chunks_embedded(name, count)
        self._save()

    def file_finished(self, result: FileResult) -> None:
        self._current = None
        self._sink.file_finished(result)

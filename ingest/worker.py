"""`Worker`: claims files of queued jobs from the shared store and ingests them one at a time.

Any number of workers, in any number of processes and hosts, share one queue: the files of
every job. `kb serve` runs one in-process in embedded mode; `python -m ingest worker` runs one
on its own in services mode. The lease on a file is renewed while it is ingested; a worker
that loses it (it stalled past the deadline and another worker took the file) stops at once,
and nothing it staged goes live (`Registry.commit` refuses a retired generation).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import time
import uuid

from sqlalchemy import Connection

from core.errors import LeaseLost
from core.observability import context
from core.observability.metrics import INGEST_JOB_DURATION
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
    """Runs one file at a time; `run()` loops until cancelled."""

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
            if await self.run_next() is not None:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._settings.poll_s)

    async def run_next(
        self, job_id: str | None = None, sink: ProgressSink | None = None
    ) -> Lease | None:
        """Claim and ingest one file (of `job_id`, or of any job); None when none was free."""
        lease = await asyncio.to_thread(
            self.jobs.claim, self.name, self._settings.lease_s, job_id=job_id
        )
        if lease is not None:
            await self.run_task(lease, sink or NullProgress())
        return lease

    async def run_job(self, job_id: str, sink: ProgressSink | None = None) -> Job:
        """Ingest every file of a job this process keeps for itself (`kb ingest`)."""
        while await self.run_next(job_id, sink) is not None:
            pass
        return await asyncio.to_thread(self.jobs.get, job_id)

    async def run_task(self, lease: Lease, sink: ProgressSink) -> None:
        """Ingest the leased file; returns quietly if the lease is lost meanwhile.

        Its log lines carry the job id as their request id: the API logged the job's
        creation under the id of the request that queued it.
        """
        token = context.request_id.set(f"job-{lease.job_id}")
        try:
            await self._run_task(lease, sink)
        finally:
            context.request_id.reset(token)

    async def _run_task(self, lease: Lease, sink: ProgressSink) -> None:
        me = asyncio.current_task()
        assert me is not None
        lost = asyncio.Event()
        heartbeat = asyncio.create_task(self._heartbeat(lease, me, lost), name="lease")
        try:
            await self._ingest(lease, sink)
        except (LeaseLost, asyncio.CancelledError) as exc:
            if not lost.is_set() and not isinstance(exc, LeaseLost):
                raise  # cancelled from outside: shutting down, the lease will run out
            me.uncancel()
            logger.warning("worker %s lost %s to another worker", self.name, lease.task)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _ingest(self, lease: Lease, sink: ProgressSink) -> None:
        job = await asyncio.to_thread(self.jobs.get, lease.job_id)
        file = job.files[lease.position]
        path = self._uploads.path(file)
        finished = False

        def record(conn: Connection, result: FileResult) -> None:
            nonlocal finished
            finished = self.jobs.record_in(conn, lease, result)

        result = await self._ingestor.ingest(
            job.kb, path, file.name, LiveProgress(self.jobs, lease, sink), task=lease.task,
            on_commit=record,
        )  # fmt: skip
        if result.outcome not in COMMITTED:
            finished = await asyncio.to_thread(self.jobs.record, lease, result)
        logger.info("%s %s: %s", lease.task, file.name, result.outcome)
        if file.upload:
            await asyncio.to_thread(self._uploads.remove, file)
        if finished:
            await self._job_done(job)

    async def _job_done(self, job: Job) -> None:
        done = await asyncio.to_thread(self.jobs.get, job.id)
        if done.finished_at:
            took = dt.datetime.fromisoformat(done.finished_at) - dt.datetime.fromisoformat(
                done.created_at
            )
            INGEST_JOB_DURATION.observe(took.total_seconds())
        await asyncio.to_thread(self._uploads.discard, job.id)
        await self._purger.purge()
        await self._ingestor.optimize()
        logger.info("job %s done", job.id)

    async def _heartbeat(
        self, lease: Lease, task: asyncio.Task[object], lost: asyncio.Event
    ) -> None:
        interval = self._settings.lease_s / 3
        while True:
            await asyncio.sleep(interval)
            try:
                ours = await asyncio.to_thread(self.jobs.renew, lease, self._settings.lease_s)
            except Exception:
                # Boundary: the database is briefly unreachable; the lease has two more tries.
                logger.exception("renewing the lease on %s failed", lease.task)
                continue
            if not ours:
                lost.set()
                task.cancel()
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
    """Forwards progress to `sink` and keeps the file's live counters in the store."""

    def __init__(self, jobs: JobStore, lease: Lease, sink: ProgressSink) -> None:
        self._jobs, self._lease, self._sink = jobs, lease, sink
        self.pages = self.chunks = 0
        self._saved = 0.0

    def _save(self) -> None:
        # At most twice a second: readers poll, and a row update per batch would be noise.
        if time.monotonic() - self._saved >= 0.5:
            self._jobs.progress(self._lease, self.pages, self.chunks)
            self._saved = time.monotonic()

    def file_started(self, name: str, size_bytes: int) -> None:
        self._sink.file_started(name, size_bytes)

    def pages_parsed(self, name: str, pages: int) -> None:
        self.pages += pages
        self._sink.pages_parsed(name, pages)
        self._save()

    def chunks_embedded(self, name: str, count: int) -> None:
        self.chunks += count
        self._sink.chunks_embedded(name, count)
        self._save()

    def file_finished(self, result: FileResult) -> None:
        self._sink.file_finished(result)

"""Ingestion jobs in the shared store: queued by the API, their files claimed by workers.

Each file of a job is a task. A worker claims the oldest task nobody holds a live lease on (one
`SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL, the write lock on SQLite), so the files of
one large upload spread over every worker. The claim gives a lease (a deadline by the
database's clock) and a fencing token, renewed while the worker works. When a worker dies its
lease runs out and another worker claims the file, retires what the dead one left staged and
ingests it again. Every write a worker makes about a task checks its token in the same
transaction, so a worker that lost its task can no longer change it; a file whose worker
died `max_attempts` times is recorded as failed instead of killing workers forever.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Connection, func, or_, select

from core.db.engine import Database
from core.db.schema import job_files, jobs, utc_now
from core.errors import LeaseLost, NotFound
from ingest.outcome import FileResult, Outcome
from ingest.registry import Registry, task_key

MAX_ATTEMPTS = 3


@dataclass
class JobFile:
    """One file of a job and, once ingested, its outcome (`pages`/`chunks` live before)."""

    position: int
    name: str
    stored_path: str
    size_bytes: int
    outcome: str | None = None
    reason: str | None = None
    message: str | None = None
    doc_id: str | None = None
    pages: int = 0
    chunks: int = 0
    upload: bool = True
    lease_owner: str | None = None
    attempts: int = 0


@dataclass
class Job:
    """A batch of files for one knowledge base."""

    id: str
    kb: str
    status: str
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None
    files: list[JobFile] = field(default_factory=list)


@dataclass(frozen=True)
class Lease:
    """A worker's hold on one file of a job: valid while `token` is still the file's token."""

    job_id: str
    position: int
    kb: str
    token: str
    owner: str

    @property
    def task(self) -> str:
        return str(task_key(self.job_id, self.position))


_JOB_FIELDS = ("id", "kb", "status", "created_at", "started_at", "finished_at", "error")
_FILE_FIELDS = tuple(JobFile.__dataclass_fields__)
_NEW_FILE_FIELDS = ("position", "name", "stored_path", "size_bytes", "upload")


class JobStore:
    """Jobs and their files; each method is one short transaction."""

    def __init__(self, db: Database, registry: Registry) -> None:
        self._db = db
        self._registry = registry

    def create(
        self,
        kb: str,
        files: list[JobFile],
        job_id: str | None = None,
        *,
        claimable_by: str | None = None,
    ) -> Job:
        """Queue a job; `claimable_by` keeps its files for one worker (files only it can read)."""
        job = Job(id=job_id or uuid.uuid4().hex[:16], kb=kb, status="queued",
                  created_at=utc_now(), files=files)  # fmt: skip
        with self._db.write() as conn:
            conn.execute(jobs.insert().values(
                id=job.id, kb=job.kb, status=job.status, created_at=job.created_at,
                claimable_by=claimable_by,
            ))  # fmt: skip
            if job.files:
                conn.execute(
                    job_files.insert(),
                    [{"job_id": job.id, **{k: getattr(f, k) for k in _NEW_FILE_FIELDS}}
                     for f in job.files],
                )  # fmt: skip
        return job

    def get(self, job_id: str) -> Job:
        with self._db.snapshot() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
            if row is None:
                raise NotFound(f"job {job_id!r} does not exist")
            files = conn.execute(
                select(job_files).where(job_files.c.job_id == job_id).order_by(job_files.c.position)
            ).mappings()
            found = [JobFile(**{k: f[k] for k in _FILE_FIELDS}) for f in files]
        return Job(**{k: row[k] for k in _JOB_FIELDS}, files=found)

    def claim(self, owner: str, lease_s: float, *, job_id: str | None = None) -> Lease | None:
        """The oldest file nobody holds a live lease on, leased to `owner`; None when none.

        With `job_id`, only that job's files.
        """
        f, j = job_files.c, jobs.c
        candidates = (
            select(f.job_id, f.position, f.attempts, j.kb)
            .join(jobs, j.id == f.job_id)
            .where(f.outcome.is_(None), j.status.in_(("queued", "running")))
            .where(or_(f.lease_expires.is_(None), f.lease_expires < self._db.now()))
            .where(or_(j.claimable_by.is_(None), j.claimable_by == owner))
            .order_by(j.created_at, f.job_id, f.position)
            .limit(1)
        )
        if job_id is not None:
            candidates = candidates.where(f.job_id == job_id)
        if not self._db.is_sqlite:
            candidates = candidates.with_for_update(skip_locked=True, of=job_files)
        with self._db.write() as conn:
            while (found := conn.execute(candidates).first()) is not None:
                lease = Lease(found.job_id, found.position, found.kb, uuid.uuid4().hex, owner)
                self._lease(conn, lease, lease_s)
                if found.attempts < MAX_ATTEMPTS:
                    return lease
                message = (
                    f"the worker ingesting it stopped {found.attempts} times (a crash or out of "
                    "memory); this file was given up so the rest could go on"
                )
                result = FileResult("", Outcome.FAILED, reason="worker_died", message=message)
                self.record_in(conn, lease, result)
            return None

    def _lease(self, conn: Connection, lease: Lease, lease_s: float) -> None:
        where = (job_files.c.job_id == lease.job_id, job_files.c.position == lease.position)
        conn.execute(
            job_files.update().where(*where).values(
                lease_owner=lease.owner, lease_token=lease.token,
                lease_expires=self._db.now() + lease_s, attempts=job_files.c.attempts + 1,
                pages=0, chunks=0,
            )
        )  # fmt: skip
        conn.execute(
            jobs.update()
            .where(jobs.c.id == lease.job_id)
            .values(status="running", started_at=func.coalesce(jobs.c.started_at, utc_now()))
        )
        # Whatever an earlier holder left staged will never be committed by it.
        self._registry.retire_task(conn, lease.task)

    def renew(self, lease: Lease, lease_s: float) -> bool:
        """Extend the lease; False when the file is no longer ours."""
        # A file whose outcome this very lease recorded is still ours: its worker may be
        # tidying up after the commit when the heartbeat comes.
        with self._db.write() as conn:
            cursor = conn.execute(
                job_files.update()
                .where(*_held(lease))
                .values(lease_expires=self._db.now() + lease_s)
            )
            return cursor.rowcount == 1

    def check(self, conn: Connection, lease: Lease) -> None:
        """Inside a write: raise LeaseLost unless the file is still ours (and lock its job)."""
        conn.execute(select(jobs.c.id).where(jobs.c.id == lease.job_id).with_for_update())
        token = conn.execute(
            select(job_files.c.lease_token).where(
                job_files.c.job_id == lease.job_id, job_files.c.position == lease.position
            )
        ).scalar()
        if token != lease.token:
            raise LeaseLost(f"file {lease.task} was taken over by another worker")

    def record_in(self, conn: Connection, lease: Lease, result: FileResult) -> bool:
        """Record the file's outcome in the caller's transaction; True if it finished the job.

        The job row is locked first (`check`), so when the last two files finish at once on
        two workers, the second sees the first's outcome and closes the job.
        """
        self.check(conn, lease)
        conn.execute(
            job_files.update()
            .where(*_held(lease))
            .values(
                outcome=result.outcome.value, reason=result.reason, message=result.message,
                doc_id=result.doc_id, pages=result.pages, chunks=result.chunks,
                lease_expires=None,
            )
        )  # fmt: skip
        left = conn.execute(
            select(func.count())
            .select_from(job_files)
            .where(job_files.c.job_id == lease.job_id, job_files.c.outcome.is_(None))
        ).scalar_one()
        if left:
            return False
        conn.execute(
            jobs.update()
            .where(jobs.c.id == lease.job_id)
            .values(status="done", finished_at=utc_now())
        )
        return True

    def record(self, lease: Lease, result: FileResult) -> bool:
        with self._db.write() as conn:
            return self.record_in(conn, lease, result)

    def progress(self, lease: Lease, pages: int, chunks: int) -> None:
        """Live counters for readers on any replica; silently ignored once the file is lost."""
        with self._db.write() as conn:
            conn.execute(job_files.update().where(*_held(lease)).values(pages=pages, chunks=chunks))

    def release_all(self) -> int:
        """Free every lease: for the exclusive owner of a data folder, at start-up.

        Nobody else holds a lease then, and jobs kept for one process are its own now.
        """
        with self._db.write() as conn:
            cursor = conn.execute(
                job_files.update().where(job_files.c.outcome.is_(None)).values(lease_expires=None)
            )
            conn.execute(jobs.update().values(claimable_by=None))
            return int(cursor.rowcount)

    def backlog(self) -> int:
        """Files waiting for an outcome (queued or being ingested)."""
        statement = select(func.count()).select_from(job_files).where(job_files.c.outcome.is_(None))
        with self._db.read() as conn:
            return int(conn.execute(statement).scalar_one())


def _held(lease: Lease) -> tuple[ColumnElement[bool], ...]:
    c = job_files.c
    return (c.job_id == lease.job_id, c.position == lease.position, c.lease_token == lease.token)

"""Ingestion jobs in the shared store: queued by the API, claimed and leased by workers.

A job's files wait in the shared uploads folder (or, for `kb ingest`, where they lie) until
a worker claims the job: one `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL, the write lock
on SQLite. The claim gives a lease (a deadline by the database's clock) and a fencing token;
the worker renews the lease while it works. When a worker dies its lease runs out and another
worker claims the job, retires what the dead one left staged, and goes on from the first file
without an outcome. Every write a worker makes about a job checks its token in the same
transaction, so a worker that lost its job can no longer change it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import Connection, func, or_, select

from core.db.engine import Database
from core.db.schema import job_files, jobs, utc_now
from core.errors import LeaseLost, NotFound
from ingest.outcome import FileResult
from ingest.registry import Registry


@dataclass
class JobFile:
    """One file of a job and, once ingested, its outcome."""

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


@dataclass
class Job:
    """A batch of files for one knowledge base, with the live progress of its current file."""

    id: str
    kb: str
    status: str
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None
    attempts: int = 0
    lease_owner: str | None = None
    current_file: str | None = None
    pages: int = 0
    chunks: int = 0
    files: list[JobFile] = field(default_factory=list)


@dataclass(frozen=True)
class Lease:
    """A worker's hold on a job: valid while `token` is still the job's token."""

    job_id: str
    kb: str
    token: str
    owner: str


_JOB_FIELDS = tuple(f for f in Job.__dataclass_fields__ if f != "files")
_FILE_FIELDS = tuple(JobFile.__dataclass_fields__)


class JobStore:
    """Jobs and their files; each method is one short transaction."""

    def __init__(self, db: Database, registry: Registry) -> None:
        self._db = db
        self._registry = registry

    def create(self, kb: str, files: list[JobFile], job_id: str | None = None) -> Job:
        job = Job(id=job_id or uuid.uuid4().hex[:16], kb=kb, status="queued",
                  created_at=utc_now(), files=files)  # fmt: skip
        with self._db.write() as conn:
            conn.execute(jobs.insert().values(
                id=job.id, kb=kb, status=job.status, created_at=job.created_at
            ))  # fmt: skip
            if files:
                conn.execute(
                    job_files.insert(),
                    [{"job_id": job.id, **{k: getattr(f, k) for k in _FILE_FIELDS}} for f in files],
                )
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

    def claim(self, owner: str, lease_s: float) -> Lease | None:
        """The oldest job nobody holds a live lease on, leased to `owner`; None when none."""
        j = jobs.c
        candidates = (
            select(j.id)
            .where(j.status.in_(("queued", "running")))
            .where(or_(j.lease_expires.is_(None), j.lease_expires < self._db.now()))
            .order_by(j.created_at, j.id)
            .limit(1)
        )
        if not self._db.is_sqlite:
            candidates = candidates.with_for_update(skip_locked=True)
        with self._db.write() as conn:
            job_id = conn.execute(candidates).scalar()
            return None if job_id is None else self._lease(conn, job_id, owner, lease_s)

    def take(self, job_id: str, owner: str, lease_s: float) -> Lease:
        """Lease a job its creator runs itself (`kb ingest` in-process)."""
        with self._db.write() as conn:
            return self._lease(conn, job_id, owner, lease_s)

    def _lease(self, conn: Connection, job_id: str, owner: str, lease_s: float) -> Lease:
        token = uuid.uuid4().hex
        conn.execute(
            jobs.update()
            .where(jobs.c.id == job_id)
            .values(
                status="running", lease_owner=owner, lease_token=token,
                lease_expires=self._db.now() + lease_s, attempts=jobs.c.attempts + 1,
                started_at=func.coalesce(jobs.c.started_at, utc_now()),
            )
        )  # fmt: skip
        # Whatever an earlier holder left staged will never be committed by it.
        self._registry.retire_job(conn, job_id)
        kb = conn.execute(select(jobs.c.kb).where(jobs.c.id == job_id)).scalar_one()
        return Lease(job_id=job_id, kb=kb, token=token, owner=owner)

    def renew(self, lease: Lease, lease_s: float) -> bool:
        """Extend the lease; False when the job is no longer ours."""
        with self._db.write() as conn:
            cursor = conn.execute(
                jobs.update()
                .where(jobs.c.id == lease.job_id, jobs.c.lease_token == lease.token)
                .where(jobs.c.status == "running")
                .values(lease_expires=self._db.now() + lease_s)
            )
            return cursor.rowcount == 1

    def check(self, conn: Connection, lease: Lease) -> None:
        """Inside a write: raise LeaseLost unless the job is still ours (and lock its row)."""
        token = conn.execute(
            select(jobs.c.lease_token).where(jobs.c.id == lease.job_id).with_for_update()
        ).scalar()
        if token != lease.token:
            raise LeaseLost(f"job {lease.job_id} was taken over by another worker")

    def record_in(self, conn: Connection, lease: Lease, position: int, result: FileResult) -> None:
        """Record a file's outcome inside the caller's transaction (fenced by the lease)."""
        self.check(conn, lease)
        conn.execute(
            job_files.update()
            .where(job_files.c.job_id == lease.job_id, job_files.c.position == position)
            .values(
                outcome=result.outcome.value, reason=result.reason, message=result.message,
                doc_id=result.doc_id, pages=result.pages, chunks=result.chunks,
            )
        )  # fmt: skip
        conn.execute(jobs.update().where(jobs.c.id == lease.job_id).values(current_file=None))

    def record(self, lease: Lease, position: int, result: FileResult) -> None:
        with self._db.write() as conn:
            self.record_in(conn, lease, position, result)

    def progress(self, lease: Lease, current_file: str | None, pages: int, chunks: int) -> None:
        """Live counters for readers on any replica; silently ignored once the job is lost."""
        with self._db.write() as conn:
            conn.execute(
                jobs.update()
                .where(jobs.c.id == lease.job_id, jobs.c.lease_token == lease.token)
                .values(current_file=current_file, pages=pages, chunks=chunks)
            )

    def finish(self, lease: Lease, status: str, error: str | None = None) -> None:
        with self._db.write() as conn:
            self.check(conn, lease)
            conn.execute(
                jobs.update()
                .where(jobs.c.id == lease.job_id)
                .values(status=status, error=error, finished_at=utc_now(), lease_expires=None,
                        current_file=None)
            )  # fmt: skip

    def release_all(self) -> int:
        """For the exclusive owner of a data folder at start-up: nobody else holds a lease."""
        with self._db.write() as conn:
            cursor = conn.execute(
                jobs.update().where(jobs.c.status == "running").values(lease_expires=None)
            )
            return int(cursor.rowcount)

    def counts(self) -> dict[str, int]:
        """Jobs by status (the ingest backlog is `queued` plus `running`)."""
        statement = select(jobs.c.status, func.count()).group_by(jobs.c.status)
        with self._db.read() as conn:
            return {status: int(n) for status, n in conn.execute(statement).all()}

"""Ingestion jobs as records: uploads are queued, ingested in the background, survive restarts.

A job's files are copied into `<data>/uploads/<job>/` before the upload request returns;
`ingest.runner` ingests them in order, recording each file's outcome here as it finishes.
After a crash the job resumes from its first file without an outcome.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from core.errors import NotFound
from ingest.db import Database, utc_now
from ingest.outcome import FileResult

logger = logging.getLogger(__name__)


@dataclass
class JobFile:
    """One uploaded file and, once ingested, its outcome."""

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


class JobStore:
    """Jobs and their files in the registry database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, kb: str, files: list[JobFile], job_id: str) -> Job:
        job = Job(id=job_id, kb=kb, status="queued", created_at=utc_now(), files=files)
        with self._db.tx() as conn:
            conn.execute(
                "INSERT INTO jobs (id, kb, status, created_at) VALUES (?, ?, ?, ?)",
                (job.id, kb, job.status, job.created_at),
            )
            conn.executemany(
                "INSERT INTO job_files (job_id, position, name, stored_path, size_bytes)"
                " VALUES (?, ?, ?, ?, ?)",
                [(job.id, f.position, f.name, f.stored_path, f.size_bytes) for f in files],
            )
        return job

    def get(self, job_id: str) -> Job:
        rows = self._db.query("SELECT * FROM jobs WHERE id=?", (job_id,))
        if not rows:
            raise NotFound(f"job {job_id!r} does not exist")
        files = self._db.query(
            "SELECT * FROM job_files WHERE job_id=? ORDER BY position", (job_id,)
        )
        job = Job(**dict(rows[0]))
        job.files = [JobFile(**_without(dict(row), "job_id")) for row in files]
        return job

    def unfinished(self) -> list[str]:
        rows = self._db.query(
            "SELECT id FROM jobs WHERE status IN ('queued', 'running') ORDER BY created_at"
        )
        return [row["id"] for row in rows]

    def set_status(self, job_id: str, status: str, *, error: str | None = None) -> None:
        column = {"running": "started_at", "done": "finished_at", "failed": "finished_at"}
        with self._db.tx() as conn:
            conn.execute("UPDATE jobs SET status=?, error=? WHERE id=?", (status, error, job_id))
            if status in column:
                conn.execute(f"UPDATE jobs SET {column[status]}=? WHERE id=?", (utc_now(), job_id))

    def record(self, job_id: str, position: int, result: FileResult) -> None:
        with self._db.tx() as conn:
            conn.execute(
                "UPDATE job_files SET outcome=?, reason=?, message=?, doc_id=?, pages=?, chunks=?"
                " WHERE job_id=? AND position=?",
                (
                    result.outcome.value, result.reason, result.message, result.doc_id,
                    result.pages, result.chunks, job_id, position,
                ),
            )  # fmt: skip


def _without(values: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k != key}

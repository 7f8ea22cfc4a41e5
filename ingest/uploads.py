"""The shared uploads folder: files wait here, one folder per job, until a worker ingests them.

Every API replica and every worker mounts the same folder (a named volume in compose). A
job's files are recorded relative to it, so hosts may mount it at different paths; they are
deleted as soon as their outcome is recorded.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path

from fastapi import UploadFile

from ingest.jobs import JobFile


def source_name(filename: str | None, position: int) -> str:
    """The client's name for the file, with path separators normalised."""
    name = (filename or "").replace("\\", "/").lstrip("/")
    return name or f"upload-{position + 1}"


class Uploads:
    """Writes uploads under `root/<job>/` and resolves job files back to paths."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def new_job(self) -> str:
        job_id = uuid.uuid4().hex[:16]
        (self.root / job_id).mkdir(parents=True, exist_ok=True)
        return job_id

    async def store(self, job_id: str, upload: UploadFile, position: int, cap: int) -> JobFile:
        """Save one uploaded file of the job.

        At most `cap + 1` bytes are kept: enough for the worker to report the file as too
        large without filling the disk with it.
        """
        relative = f"{job_id}/{position:05d}"
        size = 0
        with (self.root / relative).open("wb") as out:
            while size <= cap and (block := await upload.read(1 << 20)):
                block = block[: cap + 1 - size]
                await asyncio.to_thread(out.write, block)
                size += len(block)
        await upload.close()
        return JobFile(position, source_name(upload.filename, position), relative, size)

    def path(self, file: JobFile) -> Path:
        """Where a job's file is now (an absolute path stays as it is)."""
        return self.root / file.stored_path if file.upload else Path(file.stored_path)

    def remove(self, file: JobFile) -> None:
        """An upload whose outcome is recorded is not needed any more."""
        self.path(file).unlink(missing_ok=True)

    def discard(self, job_id: str) -> None:
        shutil.rmtree(self.root / job_id, ignore_errors=True)

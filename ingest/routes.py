"""HTTP routes for knowledge bases, documents and ingestion jobs."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Request, UploadFile, status

from core.errors import InvalidRequest
from core.store.base import Where
from ingest.jobs import Job, JobFile
from ingest.protocol import (
    ChunkList,
    ChunkOut,
    Deleted,
    DocumentList,
    DocumentOut,
    JobFileOut,
    JobOut,
    JobProgress,
    KnowledgeBaseCreate,
    KnowledgeBaseList,
    KnowledgeBaseOut,
)
from ingest.registry import DocumentRecord, KnowledgeBase
from ingest.runtime import IngestRuntime

router = APIRouter(prefix="/v1", tags=["knowledge bases"])


def _runtime(request: Request) -> IngestRuntime:
    runtime: IngestRuntime = request.app.state.ingest
    return runtime


RuntimeDep = Annotated[IngestRuntime, Depends(_runtime)]


@router.post("/knowledge-bases", status_code=status.HTTP_201_CREATED)
async def create_kb(body: KnowledgeBaseCreate, rt: RuntimeDep) -> KnowledgeBaseOut:
    """Create a knowledge base."""
    return _kb(rt.registry.create_kb(body.name, body.description))


@router.get("/knowledge-bases")
async def list_kbs(rt: RuntimeDep) -> KnowledgeBaseList:
    """List knowledge bases with their document and chunk counts."""
    return KnowledgeBaseList(data=[_kb(kb) for kb in rt.registry.list_kbs()])


@router.get("/knowledge-bases/{kb}")
async def get_kb(kb: str, rt: RuntimeDep) -> KnowledgeBaseOut:
    """Show one knowledge base."""
    return _kb(rt.registry.get_kb(kb))


@router.delete("/knowledge-bases/{kb}")
async def delete_kb(kb: str, rt: RuntimeDep) -> Deleted:
    """Delete a knowledge base with all its documents and chunks."""
    await rt.purger.purge_now(rt.registry.delete_kb(kb))
    return Deleted(id=kb, object="knowledge_base")


@router.post("/knowledge-bases/{kb}/documents", status_code=status.HTTP_202_ACCEPTED)
async def upload(kb: str, rt: RuntimeDep, files: Annotated[list[UploadFile], File()]) -> JobOut:
    """Upload files; answers at once with a job that ingests them in the background."""
    rt.registry.get_kb(kb)
    if not files:
        raise InvalidRequest("no files in the upload", param="files")
    job_id, folder = rt.runner.new_upload_dir()
    stored = [
        await _store_upload(upload, folder / f"{i:05d}", i, rt.settings.max_file_bytes)
        for i, upload in enumerate(files)
    ]
    return _job(rt, rt.runner.submit(job_id, kb, stored))


@router.get("/knowledge-bases/{kb}/documents")
async def list_documents(kb: str, rt: RuntimeDep) -> DocumentList:
    """List the documents of a knowledge base."""
    return DocumentList(data=[_document(d) for d in rt.registry.list_documents(kb)])


@router.get("/knowledge-bases/{kb}/documents/{doc_id}")
async def get_document(kb: str, doc_id: str, rt: RuntimeDep) -> DocumentOut:
    """Show one document."""
    return _document(rt.registry.get_document(kb, doc_id))


@router.get("/knowledge-bases/{kb}/documents/{doc_id}/chunks")
async def list_chunks(kb: str, doc_id: str, rt: RuntimeDep) -> ChunkList:
    """The chunks of a document's live version, in order (what retrieval and training see)."""
    record = rt.registry.get_document(kb, doc_id)
    stored = await rt.store.scroll(Where(doc_id=doc_id, generation=record.generation))
    payloads = sorted((c.payload for c in stored), key=lambda p: int(p["chunk_index"]))
    return ChunkList(document_id=doc_id, data=[_chunk(p) for p in payloads])


def _chunk(payload: dict[str, Any]) -> ChunkOut:
    return ChunkOut(
        index=payload["chunk_index"],
        page=payload["page"],
        char_start=payload["char_start"],
        char_end=payload["char_end"],
        heading_path=payload.get("heading_path", []),
        text=payload["text"],
    )


@router.delete("/knowledge-bases/{kb}/documents/{doc_id}")
async def delete_document(kb: str, doc_id: str, rt: RuntimeDep) -> Deleted:
    """Delete a document and every chunk of it."""
    await rt.purger.purge_now([rt.registry.delete_document(kb, doc_id)])
    return Deleted(id=doc_id, object="document")


@router.get("/jobs/{job_id}")
async def get_job(job_id: str, rt: RuntimeDep) -> JobOut:
    """Report a job's progress and each file's outcome."""
    return _job(rt, rt.runner.jobs.get(job_id))


def source_name(filename: str | None, position: int) -> str:
    """The client's name for the file, with path separators normalised."""
    name = (filename or "").replace("\\", "/").lstrip("/")
    return name or f"upload-{position + 1}"


async def _store_upload(upload: UploadFile, target: Path, position: int, cap: int) -> JobFile:
    # Copy at most cap + 1 bytes: enough for the pipeline to report the file as too large
    # without filling the disk with it.
    size = 0
    with target.open("wb") as out:
        while size <= cap and (block := await upload.read(1 << 20)):
            block = block[: cap + 1 - size]
            await asyncio.to_thread(out.write, block)
            size += len(block)
    await upload.close()
    return JobFile(position, source_name(upload.filename, position), str(target), size)


def _kb(kb: KnowledgeBase) -> KnowledgeBaseOut:
    return KnowledgeBaseOut(**kb.__dict__)


def _document(record: DocumentRecord) -> DocumentOut:
    return DocumentOut(**{k: v for k, v in record.__dict__.items() if k != "generation"})


def _job(rt: RuntimeDep, job: Job) -> JobOut:
    files = [JobFileOut(**f.__dict__) for f in job.files]
    done = [f for f in files if f.outcome is not None]
    live = rt.runner.live.get(job.id)
    progress = JobProgress(
        files_total=len(files),
        files_done=len(done),
        pages=live.pages if live else sum(f.pages for f in done),
        chunks=live.chunks if live else sum(f.chunks for f in done),
        current_file=live.current_file if live else None,
    )
    counts = Counter(f.outcome for f in done if f.outcome)
    return JobOut(**_without_files(job), progress=progress, counts=dict(counts), files=files)


def _without_files(job: Job) -> dict[str, object]:
    return {k: v for k, v in job.__dict__.items() if k != "files"}

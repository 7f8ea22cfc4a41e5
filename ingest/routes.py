"""HTTP routes for knowledge bases, documents and ingestion jobs."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Request, UploadFile, status
from fastapi.responses import StreamingResponse

from core.errors import InvalidRequest
from core.store.base import Where
from ingest.job_events import job_events
from ingest.jobs import Job
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
    job_id = rt.uploads.new_job()
    cap = rt.settings.max_file_bytes
    stored = [await rt.uploads.store(job_id, upload, i, cap) for i, upload in enumerate(files)]
    return _job(await asyncio.to_thread(rt.submit, kb, stored, job_id))


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
    return _job(await asyncio.to_thread(rt.jobs.get, job_id))


@router.get(
    "/jobs/{job_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Progress events."}},
)
async def get_job_events(job_id: str, rt: RuntimeDep, request: Request) -> StreamingResponse:
    """A job's progress as server-sent events.

    An `event: progress` with the job (as `GET /v1/jobs/{job_id}` gives it) whenever its
    progress changes, and a last `event: done` with the finished job.
    """
    await asyncio.to_thread(rt.jobs.get, job_id)  # an unknown job is a 404, not a stream

    async def read() -> Job:
        return await asyncio.to_thread(rt.jobs.get, job_id)

    def render(job: Job) -> str:
        return _job(job).model_dump_json()

    events = job_events(read, render, request.is_disconnected)
    # X-Accel-Buffering: nginx would otherwise hold the events back in its buffer.
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events, media_type="text/event-stream", headers=headers)


def _kb(kb: KnowledgeBase) -> KnowledgeBaseOut:
    return KnowledgeBaseOut(**kb.__dict__)


def _document(record: DocumentRecord) -> DocumentOut:
    return DocumentOut(**{k: v for k, v in record.__dict__.items() if k != "generation"})


def _job(job: Job) -> JobOut:
    files = [
        JobFileOut(**_fields(f, "upload", "lease_owner"), worker=f.lease_owner) for f in job.files
    ]
    busy = [f for f in files if f.outcome is None and f.worker is not None]
    progress = JobProgress(
        files_total=len(files),
        files_done=sum(f.outcome is not None for f in files),
        pages=sum(f.pages for f in files),
        chunks=sum(f.chunks for f in files),
        current_file=busy[0].name if busy else None,
    )
    counts = Counter(f.outcome for f in files if f.outcome)
    return JobOut(**_fields(job, "files"), progress=progress, counts=dict(counts), files=files)


def _fields(value: object, *without: str) -> dict[str, object]:
    return {k: v for k, v in value.__dict__.items() if k not in without}

"""HTTP routes for knowledge bases, documents and ingestion jobs."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Request, UploadFile, status
from fastapi.responses import StreamingResponse

from core.auth.dependency import CallerDep, authenticate, require_kb, unknown_kb
from core.auth.grants import Grants
from core.auth.principal import Level, Scope
from core.auth.scope import restrict
from core.errors import Forbidden, InvalidRequest, NotFound, PayloadTooLarge
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

router = APIRouter(prefix="/v1", tags=["knowledge bases"], dependencies=[Depends(authenticate)])


def _runtime(request: Request) -> IngestRuntime:
    runtime: IngestRuntime = request.app.state.ingest
    return runtime


RuntimeDep = Annotated[IngestRuntime, Depends(_runtime)]


@router.post("/knowledge-bases", status_code=status.HTTP_201_CREATED)
async def create_kb(
    body: KnowledgeBaseCreate, rt: RuntimeDep, caller: CallerDep
) -> KnowledgeBaseOut:
    """Create a knowledge base (needs the ingest scope); its creator may manage it."""
    if Scope.INGEST not in caller.scopes and not caller.is_admin:
        raise Forbidden("creating a knowledge base needs a key with the ingest scope")
    created = _kb(rt.registry.create_kb(body.name, body.description))
    if not caller.is_admin:
        Grants(rt.db).set(body.name, "user", caller.user, Level.MANAGE)
    return created


@router.get("/knowledge-bases")
async def list_kbs(rt: RuntimeDep) -> KnowledgeBaseList:
    """List the knowledge bases you may read, with their document and chunk counts."""
    readable = restrict(rt.registry.visibility()).names
    return KnowledgeBaseList(data=[_kb(kb) for kb in rt.registry.list_kbs() if kb.name in readable])


@router.get("/knowledge-bases/{kb}")
async def get_kb(kb: str, rt: RuntimeDep, caller: CallerDep) -> KnowledgeBaseOut:
    """Show one knowledge base."""
    require_kb(caller, kb, Level.READ)
    return _kb(rt.registry.get_kb(kb))


@router.delete("/knowledge-bases/{kb}")
async def delete_kb(kb: str, rt: RuntimeDep, caller: CallerDep) -> Deleted:
    """Delete a knowledge base with all its documents and chunks (needs manage)."""
    require_kb(caller, kb, Level.MANAGE)
    await rt.purger.purge_now(rt.registry.delete_kb(kb))
    return Deleted(id=kb, object="knowledge_base")


@router.post("/knowledge-bases/{kb}/documents", status_code=status.HTTP_202_ACCEPTED)
async def upload(
    kb: str, rt: RuntimeDep, caller: CallerDep, files: Annotated[list[UploadFile], File()]
) -> JobOut:
    """Upload files (needs write); answers at once with a job that ingests them."""
    require_kb(caller, kb, Level.WRITE)
    rt.registry.get_kb(kb)
    if not files:
        raise InvalidRequest("no files in the upload", param="files")
    limits = rt.settings
    if len(files) > limits.max_upload_files:
        raise PayloadTooLarge(
            f"{len(files)} files in one upload; at most {limits.max_upload_files} "
            "(KB_MAX_UPLOAD_FILES): split it into several uploads"
        )
    total = sum(f.size or 0 for f in files)
    if total > limits.max_upload_bytes:
        raise PayloadTooLarge(
            f"the upload has {total} bytes; at most {limits.max_upload_bytes} per request "
            "(KB_MAX_UPLOAD_BYTES): split it into several uploads"
        )
    job_id = rt.uploads.new_job()
    cap = limits.max_file_bytes
    stored = [await rt.uploads.store(job_id, upload, i, cap) for i, upload in enumerate(files)]
    return _job(await asyncio.to_thread(rt.submit, kb, stored, job_id))


@router.get("/knowledge-bases/{kb}/documents")
async def list_documents(kb: str, rt: RuntimeDep, caller: CallerDep) -> DocumentList:
    """List the documents of a knowledge base."""
    require_kb(caller, kb, Level.READ)
    return DocumentList(data=[_document(d) for d in rt.registry.list_documents(kb)])


@router.get("/knowledge-bases/{kb}/documents/{doc_id}")
async def get_document(kb: str, doc_id: str, rt: RuntimeDep, caller: CallerDep) -> DocumentOut:
    """Show one document."""
    require_kb(caller, kb, Level.READ)
    return _document(rt.registry.get_document(kb, doc_id))


@router.get("/knowledge-bases/{kb}/documents/{doc_id}/chunks")
async def list_chunks(kb: str, doc_id: str, rt: RuntimeDep) -> ChunkList:
    """The chunks of a document's live version, in order (what retrieval and training see)."""
    visible = restrict(rt.registry.visibility())
    if kb not in visible.names:
        raise unknown_kb(kb)
    record = rt.registry.get_document(kb, doc_id)
    where = visible.where([kb], doc_id=doc_id, generation=record.generation)
    stored = await rt.store.scroll(where)
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
async def delete_document(kb: str, doc_id: str, rt: RuntimeDep, caller: CallerDep) -> Deleted:
    """Delete a document and every chunk of it (needs write)."""
    require_kb(caller, kb, Level.WRITE)
    await rt.purger.purge_now([rt.registry.delete_document(kb, doc_id)])
    return Deleted(id=doc_id, object="document")


@router.get("/jobs/{job_id}")
async def get_job(job_id: str, rt: RuntimeDep, caller: CallerDep) -> JobOut:
    """Report a job's progress and each file's outcome (of a knowledge base you may read)."""
    job = await asyncio.to_thread(rt.jobs.get, job_id)
    if not caller.may(job.kb, Level.READ):
        raise NotFound(f"job {job_id!r} does not exist")
    return _job(job)


@router.get(
    "/jobs/{job_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Progress events."}},
)
async def get_job_events(
    job_id: str, rt: RuntimeDep, request: Request, caller: CallerDep
) -> StreamingResponse:
    """A job's progress as server-sent events (of a knowledge base you may read).

    An `event: progress` with the job (as `GET /v1/jobs/{job_id}` gives it) whenever its
    progress changes, and a last `event: done` with the finished job.
    """
    job = await asyncio.to_thread(rt.jobs.get, job_id)  # an unknown job is a 404, not a stream
    if not caller.may(job.kb, Level.READ):
        raise NotFound(f"job {job_id!r} does not exist")

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

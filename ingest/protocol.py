"""Wire models of the knowledge-base, document and job API (what clients may import)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class KnowledgeBaseCreate(BaseModel):
    """Body of `POST /v1/knowledge-bases`."""

    name: str = Field(description="1-64 letters, digits, '.', '_' or '-'.")
    description: str = Field("", max_length=2000)


class KnowledgeBaseOut(BaseModel):
    """A knowledge base with its document and chunk counts."""

    object: Literal["knowledge_base"] = "knowledge_base"
    name: str
    description: str
    created_at: str
    documents: int
    chunks: int


class KnowledgeBaseList(BaseModel):
    """Knowledge bases, OpenAI list style."""

    object: Literal["list"] = "list"
    data: list[KnowledgeBaseOut]


class DocumentOut(BaseModel):
    """One document's live version."""

    object: Literal["document"] = "document"
    id: str
    kb: str
    source: str = Field(description="The name the document was ingested under.")
    title: str
    pages: int
    chunks: int
    status: str
    sha256: str
    size_bytes: int
    parser: str
    ingested_at: str
    metadata: dict[str, str]


class DocumentList(BaseModel):
    """Documents of one knowledge base."""

    object: Literal["list"] = "list"
    data: list[DocumentOut]


class ChunkOut(BaseModel):
    """One chunk of a document's live version, as it was indexed."""

    object: Literal["chunk"] = "chunk"
    index: int = Field(description="Position in the document, from 0.")
    page: int
    char_start: int = Field(description="Start of the chunk in its page's text.")
    char_end: int
    heading_path: list[str]
    text: str


class ChunkList(BaseModel):
    """The chunks of one document, in order."""

    object: Literal["list"] = "list"
    document_id: str
    data: list[ChunkOut]


class Deleted(BaseModel):
    """Answer to a DELETE."""

    id: str
    object: str
    deleted: bool = True


class JobFileOut(BaseModel):
    """One file of a job; `outcome` is null until it has been processed."""

    name: str
    size_bytes: int
    outcome: Literal["ingested", "replaced", "unchanged", "duplicate", "failed"] | None
    reason: str | None = Field(None, description="Short code for failures and duplicates.")
    message: str | None = None
    doc_id: str | None = None
    pages: int = Field(0, description="Pages read so far (live while it is ingested).")
    chunks: int = Field(0, description="Chunks embedded so far (live while it is ingested).")
    worker: str | None = Field(None, description="The worker ingesting it (or that last did).")
    attempts: int = Field(0, description="How many times a worker took it.")


class JobProgress(BaseModel):
    """Counters for progress bars."""

    files_total: int
    files_done: int
    pages: int
    chunks: int
    current_file: str | None = None


class JobOut(BaseModel):
    """An ingestion job: status, progress, and each file's outcome."""

    object: Literal["ingest_job"] = "ingest_job"
    id: str
    kb: str
    status: Literal["queued", "running", "done", "failed"]
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None
    progress: JobProgress
    counts: dict[str, int] = Field(description="Files per outcome.")
    files: list[JobFileOut]

"""The answer service's JSON, as far as fine-tuning reads it (other fields are ignored).

Validating each answer against these shapes turns a changed or broken API into one clear
UpstreamError instead of a KeyError deep inside a run.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel

from finetune.examples import SourceChunk


class KbOut(BaseModel):
    """One entry of `GET /v1/knowledge-bases`."""

    name: str


class KbList(BaseModel):
    """`GET /v1/knowledge-bases`."""

    data: list[KbOut]


class DocumentOut(BaseModel):
    """One entry of `GET /v1/knowledge-bases/{kb}/documents`."""

    id: str
    kb: str
    source: str
    title: str = ""
    ingested_at: dt.datetime

    @property
    def instant(self) -> dt.datetime:
        """`ingested_at` in UTC (a naive time is taken as UTC)."""
        when = self.ingested_at
        return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)

    @property
    def key(self) -> str:
        """`kb/id`: how the cursor names it."""
        return f"{self.kb}/{self.id}"

    def chunk(self, page: int, text: str) -> SourceChunk:
        """One of its chunks, with where it comes from."""
        return SourceChunk(
            kb=self.kb, document_id=self.id, title=self.title, source=self.source, page=page,
            text=text,
        )  # fmt: skip


class DocumentList(BaseModel):
    """`GET /v1/knowledge-bases/{kb}/documents`."""

    data: list[DocumentOut]


class ChunkOut(BaseModel):
    """One chunk of a document."""

    page: int
    text: str


class ChunkList(BaseModel):
    """`GET /v1/knowledge-bases/{kb}/documents/{id}/chunks`."""

    data: list[ChunkOut]


class CitedPassage(BaseModel):
    """A passage a rated answer cites, with its whole text."""

    number: int
    type: Literal["document", "web"]
    title: str = ""
    kb: str | None = None
    document_id: str | None = None
    source: str | None = None
    page: int | None = None
    text: str

    def as_chunk(self) -> SourceChunk:
        """The passage as a chunk, framed in prompts as serving framed it."""
        return SourceChunk(
            kb=self.kb or "", document_id=self.document_id or "", title=self.title,
            source=self.source or "", page=self.page or 0, text=self.text,
        )  # fmt: skip


class FeedbackOut(BaseModel):
    """One rated answer of `GET /v1/feedback`."""

    id: int
    question: str
    answer: str
    rating: int
    comment: str | None = ""
    citations: list[CitedPassage] = []


class FeedbackList(BaseModel):
    """`GET /v1/feedback?after=&limit=`."""

    data: list[FeedbackOut]

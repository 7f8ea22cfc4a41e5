"""Wire models of `POST /v1/retrieve`, and the Retriever seam other packages call."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, Field


class Mode(StrEnum):
    """Which index answers: both fused, or one alone."""

    HYBRID = "hybrid"
    DENSE = "dense"
    SPARSE = "sparse"


class PassageRef(BaseModel):
    """Where a passage lives: knowledge base, document, page and span within the page."""

    kb: str
    document_id: str
    title: str
    source: str
    page: int
    char_start: int = Field(description="Start of the passage in its page's text.")
    char_end: int
    ocr: bool = Field(False, description="The page's text was recognised by OCR from a scan.")


class Hit(PassageRef):
    """One retrieved chunk with everything a citation needs."""

    score: float
    chunk_index: int
    heading_path: list[str] = Field(default_factory=list)
    text: str
    context: str | None = Field(
        None, description="The passage with its neighbouring chunks, when asked for."
    )


class RetrieveRequest(BaseModel):
    """Body of `POST /v1/retrieve`."""

    query: str = Field(min_length=1, max_length=4000)
    knowledge_bases: list[str] = Field(min_length=1, max_length=32)
    top_k: int = Field(8, ge=1, le=100)
    mode: Mode = Mode.HYBRID


class RetrieveResponse(BaseModel):
    """Ranked chunks, best first."""

    object: str = "list"
    data: list[Hit]


class Retriever(Protocol):
    """Finds the passages of some knowledge bases that best answer a query.

    Contract: returns at most `top_k` hits, best first, only from `kbs` and only from live
    document versions; raises `core.errors.NotFound` for an unknown knowledge base.
    """

    async def retrieve(
        self, query: str, kbs: Sequence[str], *, top_k: int = 8, mode: Mode = Mode.HYBRID
    ) -> list[Hit]: ...

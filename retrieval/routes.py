"""`POST /v1/retrieve`: ranked passages for a query, without generating an answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from core.audit.note import audit_note, chunk_ref
from core.auth.dependency import authenticate
from retrieval.protocol import Retriever, RetrieveRequest, RetrieveResponse

router = APIRouter(prefix="/v1", tags=["retrieval"], dependencies=[Depends(authenticate)])


def _retriever(request: Request) -> Retriever:
    retriever: Retriever = request.app.state.retriever
    return retriever


RetrieverDep = Annotated[Retriever, Depends(_retriever)]


@router.post("/retrieve")
async def retrieve(
    body: RetrieveRequest, retriever: RetrieverDep, request: Request
) -> RetrieveResponse:
    """Hybrid (or dense, or sparse) search over the given knowledge bases you may read."""
    note = audit_note(request)
    note.kbs, note.question = body.knowledge_bases, body.query
    hits = await retriever.retrieve(
        body.query, body.knowledge_bases, top_k=body.top_k, mode=body.mode
    )
    note.retrieved = [chunk_ref(h.document_id, h.chunk_index) for h in hits]
    return RetrieveResponse(data=hits)

"""`POST /v1/retrieve`: ranked passages for a query, without generating an answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from core.auth.dependency import authenticate
from retrieval.protocol import Retriever, RetrieveRequest, RetrieveResponse

router = APIRouter(prefix="/v1", tags=["retrieval"], dependencies=[Depends(authenticate)])


def _retriever(request: Request) -> Retriever:
    retriever: Retriever = request.app.state.retriever
    return retriever


RetrieverDep = Annotated[Retriever, Depends(_retriever)]


@router.post("/retrieve")
async def retrieve(body: RetrieveRequest, retriever: RetrieverDep) -> RetrieveResponse:
    """Hybrid (or dense, or sparse) search over the given knowledge bases you may read."""
    hits = await retriever.retrieve(
        body.query, body.knowledge_bases, top_k=body.top_k, mode=body.mode
    )
    return RetrieveResponse(data=hits)

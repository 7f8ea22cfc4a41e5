"""`POST /v1/search` and `GET /v1/filter/stats`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from search_proxy.protocol import SearchRequest, SearchResponse
from search_proxy.service import SearchService

router = APIRouter(prefix="/v1", tags=["search"])


def _service(request: Request) -> SearchService:
    service: SearchService = request.app.state.search
    return service


ServiceDep = Annotated[SearchService, Depends(_service)]


@router.post("/search")
async def search(body: SearchRequest, service: ServiceDep) -> SearchResponse:
    """Ask the enabled engines at once; merged results, best first, and the engines that failed."""
    return await service.search(body)


@router.get("/filter/stats")
async def filter_stats(service: ServiceDep) -> dict[str, int]:
    """Sensitive-filter decisions by stage, action and category (never the words)."""
    return service.filter_counts

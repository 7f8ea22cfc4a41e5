"""`GET /v1/audit`: search the audit log (admins only), as JSON or JSON lines."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from core.audit import AuditLog, AuditQuery, AuditRecord
from core.auth.dependency import admin, authenticate

router = APIRouter(prefix="/v1", tags=["audit"], dependencies=[Depends(authenticate)])


def _log(request: Request) -> AuditLog:
    log: AuditLog = request.app.state.audit
    return log


class AuditPage(BaseModel):
    """Matching records, oldest first; pass the last `seq` as `after` for the next page."""

    object: Literal["list"] = "list"
    data: list[AuditRecord]


@router.get("/audit", dependencies=[Depends(admin)], response_model=AuditPage)
async def search_audit(
    query: Annotated[AuditQuery, Query()],
    log: Annotated[AuditLog, Depends(_log)],
    format: Literal["json", "jsonl"] = "json",
) -> AuditPage | StreamingResponse:
    """Audit records filtered by user, knowledge base, document, time and kind."""
    if format == "jsonl":
        return StreamingResponse(log.export(query), media_type="application/x-ndjson")
    return AuditPage(data=log.search(query))

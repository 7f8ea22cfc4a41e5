"""`GET /v1/audit`: search the audit log (admins only), as JSON or JSON lines."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from core.audit import AuditLog, AuditQuery, AuditRecord
from core.errors import NotFound

router = APIRouter(prefix="/v1", tags=["audit"])


def require_admin(request: Request) -> None:
    """The admin check; the seam authentication connects to (its principal's `admin` scope).

    Until then: a principal must carry the `admin` scope; without one, only a caller on the
    loopback interface (the local single admin of the embedded default) may read the log.
    Anyone else gets the same 404 as for a route that does not exist.
    """
    principal = getattr(request.state, "principal", None)
    if principal is not None:
        allowed = "admin" in (getattr(principal, "scopes", None) or ())
    else:
        host = request.client.host if request.client else ""
        allowed = _loopback(host)
    if not allowed:
        raise NotFound("Not Found")


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _log(request: Request) -> AuditLog:
    log: AuditLog = request.app.state.audit
    return log


class AuditPage(BaseModel):
    """Matching records, oldest first; pass the last `seq` as `after` for the next page."""

    object: Literal["list"] = "list"
    data: list[AuditRecord]


@router.get("/audit", dependencies=[Depends(require_admin)], response_model=AuditPage)
async def search_audit(
    query: Annotated[AuditQuery, Query()],
    log: Annotated[AuditLog, Depends(_log)],
    format: Literal["json", "jsonl"] = "json",
) -> AuditPage | StreamingResponse:
    """Audit records filtered by user, knowledge base, document, time and kind."""
    if format == "jsonl":
        return StreamingResponse(log.export(query), media_type="application/x-ndjson")
    return AuditPage(data=log.search(query))

"""The request id (and user, when known) of the work in progress, in context variables.

Set by the HTTP middleware for each request (from `X-Request-ID`, or made), and by an ingest
worker for each job it runs; read by the log formatter and by the clients that call other
services, which pass it on in the same header.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

REQUEST_ID_HEADER = "X-Request-ID"

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
user: ContextVar[str | None] = ContextVar("user", default=None)

# A caller's id is kept only when it is short and plain: it ends up in logs and headers.
_SAFE = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


def accept_request_id(given: str | None) -> str:
    """The caller's request id when it is safe to echo and log, else a new one."""
    if given and _SAFE.fullmatch(given):
        return given
    return uuid.uuid4().hex


def outgoing_headers() -> dict[str, str]:
    """Headers that carry the current request id to another service ({} outside a request)."""
    current = request_id.get()
    return {REQUEST_ID_HEADER: current} if current else {}

"""What a route tells the audit recorder about its request, on `request.state.audit_note`.

The recorder (`serving.audit.recorder`) sees method, path, status, latency, the client and
the caller's principal by itself; what only the route knows (knowledge bases, the question,
the chunks retrieved and cited, the model) it writes here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request


@dataclass
class AuditNote:
    """The route's part of one audit record; every field is optional."""

    kbs: list[str] = field(default_factory=list)
    question: str | None = None
    retrieved: list[str] = field(default_factory=list)
    cited: list[str] = field(default_factory=list)
    model: str | None = None
    adapter: str | None = None
    outcome: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def audit_note(request: Request) -> AuditNote:
    """This request's note, created on first use."""
    note = getattr(request.state, "audit_note", None)
    if not isinstance(note, AuditNote):
        note = AuditNote()
        request.state.audit_note = note
    return note


def chunk_ref(document_id: str, chunk_index: int) -> str:
    """How records name a chunk: `<document id>#<chunk index>`."""
    return f"{document_id}#{chunk_index}"

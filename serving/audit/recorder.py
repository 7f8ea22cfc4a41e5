"""`AuditRecorder`: one audit record per knowledge request and admin action.

A pure ASGI middleware around the whole app, so that it times the full response (a streamed
answer included) and sees its status. It reads what the rest of the request left in the
request's state (the scope's `state`, which `request.state` writes to):

- `principal`: who asked, set by authentication; read duck-typed (`user_id` or `user`,
  `key_id`, `subject`), so that this module does not depend on how identities are built.
- `audit_note` (`core.audit.note.AuditNote`): knowledge bases, question, chunks, model.
- `chat_turn` (`serving.chat.service.Turn`): the answered turn, for its retrieved and cited chunks.

The record is written after the response is sent: a failing audit write is logged, it does
not turn a delivered answer into an error.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.audit import AuditEntry, AuditLog
from core.audit.note import AuditNote, chunk_ref
from core.audit.record import question_digest
from core.privacy import mask_pii
from serving.chat.protocol import DocumentCitation
from serving.chat.service import Turn

logger = logging.getLogger(__name__)

# Requests that read or change no knowledge, or that clients poll: not recorded.
_QUIET = {("GET", "/v1/models"), ("GET", "/v1/cache/stats"), ("GET", "/v1/model-alias")}
_QUIET_PREFIXES = (("GET", "/v1/jobs/"),)
# Identities, grants, the model alias, fine-tuning, feedback export and the audit log itself.
_ADMIN_PREFIXES = (
    "/v1/keys", "/v1/users", "/v1/groups", "/v1/grants", "/v1/model-alias", "/v1/audit",
    "/v1/finetune",
)  # fmt: skip


def recorded(method: str, path: str) -> bool:
    """Whether a request is audited: everything under /v1 but the quiet reads."""
    if not path.startswith("/v1/") or (method, path) in _QUIET:
        return False
    return not any(method == m and path.startswith(p) for m, p in _QUIET_PREFIXES)


def admin_action(method: str, route: str) -> bool:
    """Admin actions: the admin areas, feedback export, deleting a knowledge base, grants."""
    return (
        route.startswith(_ADMIN_PREFIXES)
        or (method, route) in {("GET", "/v1/feedback"), ("DELETE", "/v1/knowledge-bases/{kb}")}
        or route.endswith("/grants")
    )


class AuditRecorder:
    """Records each audited request in `app.state.audit` (an `AuditLog`) once it is answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not recorded(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            log: AuditLog | None = getattr(scope["app"].state, "audit", None)
            if log is not None and log.settings.enabled:
                latency = (time.perf_counter() - started) * 1000
                entry = entry_for(scope, status, latency, question_text=log.settings.question_text)
                try:
                    # Shielded: a client that hung up mid-stream cancels the request's task,
                    # and its record must still be written.
                    await asyncio.shield(asyncio.to_thread(log.record, entry))
                except Exception:  # Boundary: the answer went out; keep serving, say so.
                    logger.exception(
                        "audit: could not record %s %s", scope["method"], scope["path"]
                    )


def entry_for(scope: Scope, status: int, latency_ms: float, *, question_text: bool) -> AuditEntry:
    """The record of one finished request, from its scope and what it left in its state."""
    state: dict[str, Any] = scope.get("state", {})
    note = state.get("audit_note") or AuditNote()
    if isinstance(turn := state.get("chat_turn"), Turn):
        _from_turn(note, turn)
    route = str(getattr(scope.get("route"), "path", scope["path"]))
    params = dict(scope.get("path_params", {}))
    # The route's note wins: an erasure names the pseudonym here, never the erased user.
    detail = {**({"params": params} if params else {}), **note.detail}
    if "doc_id" in params:
        detail["document"] = params["doc_id"]
    kbs = note.kbs or ([params["kb"]] if "kb" in params else [])
    question = note.question
    return AuditEntry(
        kind="admin" if admin_action(scope["method"], route) else "request",
        **_actor(state.get("principal")),
        client=scope["client"][0] if scope.get("client") else None,
        method=scope["method"], route=route, kbs=kbs,
        question_hash=question_digest(question) if question else None,
        question=mask_pii(question)[0] if question and question_text else None,
        retrieved=note.retrieved, cited=note.cited, model=note.model, adapter=note.adapter,
        outcome=note.outcome or ("ok" if status < 400 else "error"), status=status,
        latency_ms=latency_ms, detail=detail,
    )  # fmt: skip


def _actor(principal: object | None) -> dict[str, str | None]:
    """Who asked, from authentication's principal; the glue to `request.state.principal`."""
    if principal is None:
        return {"actor_user": None, "actor_key": None, "actor_subject": None}
    user = getattr(principal, "user_id", None) or getattr(principal, "user", None)
    key, subject = getattr(principal, "key_id", None), getattr(principal, "subject", None)
    return {
        "actor_user": None if user is None else str(user),
        "actor_key": None if key is None else str(key),
        "actor_subject": None if subject is None else str(subject),
    }


def _from_turn(note: AuditNote, turn: Turn) -> None:
    note.kbs = note.kbs or turn.kbs
    note.question = note.question or turn.question
    note.model = note.model or turn.request.model
    note.retrieved = [chunk_ref(h.document_id, h.chunk_index) for h in turn.hits]
    note.cited = [_cited_chunk(c, turn) for c in turn.cited if isinstance(c, DocumentCitation)]


def _cited_chunk(citation: DocumentCitation, turn: Turn) -> str:
    # Citations are renumbered in order of first use: find the passage by where it lies.
    for hit in turn.hits:
        if (hit.document_id, hit.page, hit.char_start) == (
            citation.document_id, citation.page, citation.char_start,
        ):  # fmt: skip
            return chunk_ref(hit.document_id, hit.chunk_index)
    return f"{citation.document_id}#p{citation.page}"

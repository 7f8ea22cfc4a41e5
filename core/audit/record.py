"""What one audit record holds, and the hash that chains it to the one before.

The hash covers every field but `seq` and `hash` itself, serialised as canonical JSON (sorted
keys, no spaces, UTF-8). `seq` is left out on purpose: the chain, not the numbering, orders the
records, so a record moved to another place keeps a valid hash of its own but no longer
follows its predecessor, and `verify` can tell "reordered" from "edited".
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, Field

Kind = Literal["request", "admin", "checkpoint", "pruned"]
# The hash before the first record.
GENESIS = "0" * 64


class AuditEntry(BaseModel):
    """What the caller knows about one event; the log adds time, place and hashes."""

    kind: Kind = "request"
    actor_user: str | None = Field(None, description="The user the request acted for.")
    actor_key: str | None = Field(None, description="The API key's id (never the key).")
    actor_subject: str | None = Field(None, description="An OIDC token's subject.")
    client: str | None = Field(None, description="The client's address as the server saw it.")
    method: str = ""
    route: str = ""
    kbs: list[str] = Field(default_factory=list)
    question_hash: str | None = Field(None, description="SHA-256 of the question's text.")
    question: str | None = Field(None, description="The question, PII masked, when configured.")
    retrieved: list[str] = Field(default_factory=list, description="'<document id>#<chunk>'.")
    cited: list[str] = Field(default_factory=list, description="'<document id>#<chunk>'.")
    model: str | None = None
    adapter: str | None = Field(None, description="The LLM model or adapter that answered.")
    outcome: str = "ok"
    status: int | None = None
    latency_ms: float | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class AuditRecord(AuditEntry):
    """One record as stored: numbered, timed and chained."""

    seq: int
    at: str = Field(description="ISO 8601 UTC, milliseconds.")
    prev_hash: str
    hash: str


class AuditQuery(BaseModel):
    """Filters of `search`; all given ones must hold."""

    user: str | None = Field(None, description="User, key id or token subject.")
    kb: str | None = None
    document: str | None = Field(None, description="Retrieved or cited document id.")
    since: str | None = Field(None, description="ISO 8601 (UTC) lower bound, inclusive.")
    until: str | None = Field(None, description="ISO 8601 (UTC) upper bound, exclusive.")
    kind: Kind | None = None
    after: int = Field(0, ge=0, description="Only records numbered above this (paging).")
    limit: int = Field(100, ge=1, le=10000)


def chain_hash(prev_hash: str, at: str, entry: AuditEntry) -> str:
    """The hash a record with this content, time and predecessor must carry."""
    content = entry.model_dump(mode="json", include=set(AuditEntry.model_fields))
    if content["latency_ms"] is not None:
        content["latency_ms"] = round(content["latency_ms"], 3)
    content.update(prev_hash=prev_hash, at=at)
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def question_digest(question: str) -> str:
    """SHA-256 of a question, to find who asked the same thing without keeping its text."""
    return hashlib.sha256(question.strip().encode()).hexdigest()

"""What one audit record holds, and the hash that chains it to the one before.

The hash covers every field but `seq` and `hash` itself, serialised as canonical JSON (sorted
keys, no spaces, UTF-8). `seq` is left out on purpose: the chain, not the numbering, orders the
records, so a record moved to another place keeps a valid hash of its own but no longer
follows its predecessor, and `verify` can tell "reordered" from "edited".

The personal fields (`PERSONAL`: who, from where, the question) enter the chain only through
`personal_digest`, a salted hash of them kept beside them. Erasing a person (GDPR, PIPL)
replaces their fields by a pseudonym and drops the salt: the chain still verifies, the salt
can no longer be used to test guesses of what was erased, and the chained erasure record says
which records were erased, so fields removed any other way are still found.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, Field

Kind = Literal["request", "admin", "checkpoint", "pruned"]
PERSONAL = ("actor_user", "actor_key", "actor_subject", "client", "question_hash", "question")
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
    personal_salt: str | None = Field(None, description="None once the person was erased.")
    personal_digest: str
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


def chain_hash(prev_hash: str, at: str, entry: AuditEntry, personal_digest: str) -> str:
    """The hash a record with this content, time and predecessor must carry."""
    content = entry.model_dump(mode="json", include=set(AuditEntry.model_fields) - set(PERSONAL))
    if content["latency_ms"] is not None:
        content["latency_ms"] = round(content["latency_ms"], 3)
    content.update(prev_hash=prev_hash, at=at, personal_digest=personal_digest)
    return _sha256(content)


def personal_digest(entry: AuditEntry, salt: str) -> str:
    """The salted hash of a record's personal fields, which the chain hash covers."""
    return _sha256({**entry.model_dump(mode="json", include=set(PERSONAL)), "salt": salt})


def _sha256(content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def question_digest(question: str) -> str:
    """SHA-256 of a question, to find who asked the same thing without keeping its text."""
    return hashlib.sha256(question.strip().encode()).hexdigest()

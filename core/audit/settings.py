"""Settings of the audit log (`KB_AUDIT__*`)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class AuditSettings(BaseModel):
    """What is recorded and for how long."""

    enabled: bool = Field(True, description="Record every knowledge request and admin action.")
    question_text: bool = Field(
        False,
        description="Keep the question's text (PII masked) besides its hash; off keeps only "
        "the hash.",
    )
    retention_days: int = Field(
        180, ge=1, description="Records older than this are pruned (the chain stays verifiable)."
    )
    checkpoint_every: int = Field(
        1000, ge=1, description="A checkpoint record (logged too) after this many records."
    )

"""Settings of the LLM server that answers (vLLM or any OpenAI-compatible server)."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr


class LLMSettings(BaseModel):
    """Any OpenAI-compatible chat-completions server (vLLM, llama.cpp, a gateway)."""

    base_url: str | None = Field(
        None,
        description="Base URL including /v1, e.g. http://vllm:8000/v1; several replicas of the "
        "same model separated by commas (used in turn, a failed one skipped for "
        "replica_cooldown_s); unset: no LLM, answers are extractive.",
    )
    replica_cooldown_s: float = Field(
        30.0, gt=0, description="How long a failed replica is skipped before it is tried again."
    )
    model: str = Field("base", description="Model name sent to the server (a LoRA alias later).")
    api_key: SecretStr | None = Field(None, description="Bearer token for the server, if any.")
    connect_timeout_s: float = Field(5.0, gt=0, description="Time to open a connection.")
    timeout_s: float = Field(
        60.0, gt=0, description="Longest wait for an answer, or for the next streamed token."
    )
    max_tokens: int = Field(768, ge=1, description="Answer length limit when a request sets none.")
    temperature: float = Field(0.1, ge=0, le=2, description="Sampling temperature by default.")

"""Settings of authentication and per-caller limits (`KB_AUTH__*`)."""

from __future__ import annotations

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AuthSettings(BaseModel):
    """Whether callers must authenticate, and how much each may ask."""

    enabled: bool = Field(
        False,
        description="Require `Authorization: Bearer <key>` on every API request. Off (the "
        "embedded default): the server answers only on a loopback address, as one local admin, "
        "and refuses to start on any other address.",
    )
    admin_groups: list[str] = Field(
        default_factory=lambda: ["kb-admins"],
        description="OIDC groups whose members are admins (JSON list); other token users may "
        "read and ingest within their grants.",
    )
    requests_per_minute: int = Field(
        600, ge=0, description="Requests per minute per key (or token subject); 0: unlimited."
    )
    concurrent_answers: int = Field(
        4, ge=0, description="Answers one key may have in progress at once; 0: unlimited."
    )


class AuthEnvironment(BaseSettings):
    """`KB_AUTH__*` alone, for services whose own settings do not nest them (ingest's API)."""

    model_config = SettingsConfigDict(
        env_prefix="KB_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    auth: AuthSettings = Field(default_factory=AuthSettings)

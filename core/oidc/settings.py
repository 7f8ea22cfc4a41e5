"""Settings of OIDC token verification (`KB_OIDC__*`)."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

# Asymmetric algorithms only: a symmetric one (HS*) would let anyone holding the provider's
# *public* key mint tokens, and `none` needs no key at all.
ASYMMETRIC = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


class OidcSettings(BaseModel):
    """Which identity provider's tokens are accepted, for which audience."""

    issuer: str | None = Field(
        None,
        description="The provider's issuer URL, exactly as in its tokens' `iss`, e.g. "
        "https://keycloak.example/realms/kb; unset: OIDC is off.",
    )
    audience: str | None = Field(
        None, description="The `aud` tokens must carry (the client id in Keycloak)."
    )
    jwks_url: str | None = Field(
        None,
        description="The provider's JWKS URL; unset: found through the issuer's "
        "/.well-known/openid-configuration.",
    )
    groups_claim: str = Field(
        "groups",
        description="The claim with the user's groups; dots reach into objects, e.g. "
        "realm_access.roles.",
    )
    algorithms: list[str] = Field(
        default_factory=lambda: ["RS256", "PS256", "ES256", "EdDSA"],
        description="Signature algorithms accepted (asymmetric only). JSON list.",
    )
    leeway_s: float = Field(
        30.0, ge=0, le=300, description="Clock skew allowed on exp, nbf and iat."
    )
    jwks_ttl_s: float = Field(3600.0, gt=0, description="How long fetched keys are trusted.")
    refresh_min_interval_s: float = Field(
        30.0, ge=0, description="At most one JWKS fetch per this interval for unknown key ids."
    )
    timeout_s: float = Field(5.0, gt=0, description="Timeout of requests to the provider.")

    @field_validator("algorithms")
    @classmethod
    def _asymmetric_only(cls, algorithms: list[str]) -> list[str]:
        refused = [a for a in algorithms if a not in ASYMMETRIC]
        if refused or not algorithms:
            raise ValueError(
                f"algorithms {refused or algorithms} refused: use asymmetric ones "
                f"({', '.join(sorted(ASYMMETRIC))}); never none or HS*"
            )
        return algorithms

    @property
    def enabled(self) -> bool:
        """Whether OIDC tokens are accepted at all."""
        return bool(self.issuer and self.audience)

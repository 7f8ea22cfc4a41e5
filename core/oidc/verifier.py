"""`OidcVerifier`: a bearer token in, its subject, groups and claims out, or InvalidToken."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from core.errors import InvalidToken
from core.oidc.jwks import KeySet
from core.oidc.settings import OidcSettings

logger = logging.getLogger(__name__)

_REQUIRED = ["exp", "iss", "aud", "sub"]


@dataclass(frozen=True)
class VerifiedToken:
    """What a good token says about its bearer."""

    subject: str
    groups: list[str]
    claims: dict[str, Any]


class OidcVerifier:
    """Checks signature (allowed algorithm, provider's key), iss, aud, exp, nbf and sub."""

    def __init__(self, settings: OidcSettings, http: httpx.AsyncClient | None = None) -> None:
        if not settings.enabled:
            raise ValueError("OIDC needs an issuer and an audience")
        self._settings = settings
        self._own_http = http is None
        self._http = http or httpx.AsyncClient()
        self.keys = KeySet(settings, self._http)

    async def verify(self, token: str) -> VerifiedToken:
        """The token's subject, groups and claims; InvalidToken for any bad token."""
        try:
            return await self._verify(token)
        except InvalidToken as exc:
            logger.info("OIDC token refused: %s", exc.reason)
            raise

    async def _verify(self, token: str) -> VerifiedToken:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"malformed token: {exc}") from exc
        algorithm = header.get("alg")
        # Checked before any key is touched: `none` and HS* never get near a verifier.
        if algorithm not in self._settings.algorithms:
            raise InvalidToken(f"algorithm {algorithm!r} is not allowed")
        jwk = await self.keys.key(header.get("kid"))
        try:
            # Binding the JWK to the token's algorithm fails when their families differ
            # (an RSA key offered for ES256), and the key is always the provider's.
            key = jwt.PyJWK(jwk, algorithm=algorithm)
            claims: dict[str, Any] = jwt.decode(
                token, key=key.key, algorithms=[algorithm], audience=self._settings.audience,
                issuer=self._settings.issuer, leeway=self._settings.leeway_s,
                options={"require": _REQUIRED},
            )  # fmt: skip
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"{type(exc).__name__}: {exc}") from exc
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise InvalidToken("the subject is empty")
        return VerifiedToken(subject, _groups(claims, self._settings.groups_claim), claims)

    async def aclose(self) -> None:
        """Close the connections to the provider (when this verifier opened them)."""
        if self._own_http:
            await self._http.aclose()


def _groups(claims: dict[str, Any], path: str) -> list[str]:
    value: Any = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value]
    return []

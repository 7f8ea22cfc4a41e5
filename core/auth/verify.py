"""Bearer-token verifiers: the seam where API keys and OIDC tokens each say who is calling.

A verifier returns None for a token that is not its kind (so the next one may try), an
`Identity` for a good one, and raises `Unauthorized` for a bad one of its kind. An OIDC
verifier plugs in as one more entry of `Authenticator`'s list, wrapping `core.oidc`'s
`OidcVerifier.verify(token) -> identity(subject, groups)` into an `Identity` (scopes from
configuration; `is_admin` from an admin group).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from core.auth import keys
from core.auth.directory import Directory
from core.auth.principal import Scope
from core.errors import Unauthorized


@dataclass(frozen=True)
class Identity:
    """Who a token names, before grants are looked up."""

    user: str
    key_id: str | None
    scopes: frozenset[Scope]
    groups: frozenset[str] = frozenset()  # groups the token itself asserts (OIDC claims)
    is_admin: bool = False


class TokenVerifier(Protocol):
    """Turns a bearer token into an Identity (None: not this verifier's kind of token)."""

    async def identify(self, token: str) -> Identity | None: ...


# One message for every bad key, so that answers say nothing about which keys exist.
BAD_KEY = "invalid API key: unknown, revoked or expired"


class ApiKeyVerifier:
    """Our own API keys, checked against their stored hash."""

    def __init__(self, directory: Directory) -> None:
        self._directory = directory

    async def identify(self, token: str) -> Identity | None:
        parts = keys.split(token)
        if parts is None:
            return None
        key_id, secret = parts
        row = self._directory.key_row(key_id)
        if row is None or not keys.matches(secret, row.secret_hash) or row.revoked_at:
            raise Unauthorized(BAD_KEY)
        if row.expires_at and row.expires_at <= datetime.now(UTC).isoformat(timespec="seconds"):
            raise Unauthorized(BAD_KEY)
        admin = row.is_admin and Scope.ADMIN in row.scopes
        return Identity(row.user, key_id, row.scopes, is_admin=admin)

"""Bearer-token verifiers: the seam where API keys and OIDC tokens each say who is calling.

A verifier returns None for a token that is not its kind (so the next one may try), an
`Identity` for a good one, and raises `Unauthorized` for a bad one of its kind. OIDC plugs in
as one more entry of `Authenticator`'s list: `ExternalTokens(OidcVerifier(...),
errors=(...,), admin_groups=...)` wraps `verify(token) -> identity(subject, groups)`.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
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
    expires_at: str | None = None  # an API key's expiry (ISO 8601 UTC)


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
        if keys.expired(row.expires_at):
            raise Unauthorized(BAD_KEY)
        admin = row.is_admin and Scope.ADMIN in row.scopes
        return Identity(row.user, key_id, row.scopes, is_admin=admin, expires_at=row.expires_at)


class ExternalIdentity(Protocol):
    """What an identity provider's verifier returns for a good token."""

    @property
    def subject(self) -> str: ...

    @property
    def groups(self) -> Iterable[str]: ...


class ProviderVerifier(Protocol):
    """`core.oidc.OidcVerifier`'s shape: `verify(token)`, raising on a bad token."""

    def verify(self, token: str) -> ExternalIdentity | Awaitable[ExternalIdentity]: ...


class ExternalTokens:
    """Identity-provider tokens (OIDC JWTs) as one more verifier of `Authenticator`.

    The subject is the user; the token's groups add to those in the directory; members of
    `admin_groups` are admins. `errors` are what the provider's verifier raises for a bad
    token: each becomes the same 401, whose message says nothing about why.
    """

    def __init__(
        self,
        verifier: ProviderVerifier,
        *,
        errors: tuple[type[Exception], ...],
        scopes: frozenset[Scope] = frozenset({Scope.READ, Scope.INGEST}),
        admin_groups: frozenset[str] = frozenset(),
    ) -> None:
        self._verifier, self._errors = verifier, errors
        self._scopes, self._admin_groups = scopes, admin_groups

    async def identify(self, token: str) -> Identity | None:
        if keys.split(token) is not None or token.count(".") != 2:
            return None  # one of our keys, or not a JWT at all
        try:
            found = self._verifier.verify(token)
            identity = await found if inspect.isawaitable(found) else found
        except self._errors as exc:
            raise Unauthorized("invalid token") from exc
        groups = frozenset(identity.groups)
        admin = bool(groups & self._admin_groups)
        scopes = self._scopes | {Scope.ADMIN} if admin else self._scopes
        return Identity(identity.subject, None, frozenset(scopes), groups, is_admin=admin)

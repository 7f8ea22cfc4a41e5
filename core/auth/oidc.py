"""OIDC bearer tokens as identities: `core.oidc`'s verified token, given scopes and admin.

A token that is not a JWT (not three dot-separated parts) is not this verifier's kind, so
API keys are tried first and cost nothing here. A verified token's subject is the user; its
groups (from the configured claim) join the user's groups in the metadata store for grants.
Every token user may read and ingest within their grants; members of `admin_groups` are
admins. A bad token is a 401 that says nothing about which check failed.
"""

from __future__ import annotations

from core.auth.principal import Scope
from core.auth.verify import Identity
from core.oidc import OidcVerifier

USER_SCOPES = frozenset({Scope.READ, Scope.INGEST})


class OidcTokenVerifier:
    """`Authenticator`'s verifier for the organisation's identity-provider tokens."""

    def __init__(self, verifier: OidcVerifier, admin_groups: frozenset[str]) -> None:
        self._verifier = verifier
        self._admin_groups = admin_groups

    async def identify(self, token: str) -> Identity | None:
        if token.count(".") != 2:
            return None
        verified = await self._verifier.verify(token)  # InvalidToken: a 401
        groups = frozenset(verified.groups)
        admin = bool(groups & self._admin_groups)
        scopes = (USER_SCOPES | {Scope.ADMIN}) if admin else USER_SCOPES
        return Identity(
            user=verified.subject, key_id=None, scopes=scopes, groups=groups, is_admin=admin
        )

    async def aclose(self) -> None:
        await self._verifier.aclose()

"""`OidcTokenVerifier`: OIDC bearer tokens as one more entry of `Authenticator`'s verifiers.

Wiring (the lead's step): `Authenticator(settings.auth, db, verifiers=[OidcTokenVerifier(
OidcVerifier(settings.oidc))])` when `settings.oidc.enabled`, and count OIDC as configured
authentication in `AuthSettings.enabled` / `check_bind`.
"""

from __future__ import annotations

from core.auth.principal import Scope
from core.auth.verify import Identity
from core.oidc import OidcVerifier


class OidcTokenVerifier:
    """A JWT (three dot-separated parts) is verified by `core.oidc`; anything else is not ours."""

    def __init__(
        self,
        verifier: OidcVerifier,
        *,
        scopes: frozenset[Scope] = frozenset({Scope.READ}),
        admin_group: str | None = None,
    ) -> None:
        self._verifier, self._scopes, self._admin_group = verifier, scopes, admin_group

    async def identify(self, token: str) -> Identity | None:
        if token.count(".") != 2:
            return None  # an API key or something else: the next verifier's
        verified = await self._verifier.verify(token)  # InvalidToken (401) when bad
        groups = frozenset(verified.groups)
        admin = self._admin_group is not None and self._admin_group in groups
        scopes = self._scopes | {Scope.ADMIN} if admin else self._scopes
        return Identity(
            user=verified.subject, key_id=None, scopes=scopes, groups=groups, is_admin=admin
        )

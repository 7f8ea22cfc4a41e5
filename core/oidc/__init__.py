"""OIDC bearer tokens: verified against the identity provider's published keys (JWKS).

`OidcVerifier.verify(token)` returns the subject, groups and claims of a good token and
raises `core.errors.InvalidToken` for any bad one. The keys come from the provider's JWKS,
cached and fetched again when a token names a key id not seen yet (at most once per
`refresh_min_interval_s`, so that forged key ids cannot make us hammer the provider).
"""

from core.oidc.settings import OidcSettings
from core.oidc.verifier import OidcVerifier, VerifiedToken

__all__ = ["OidcSettings", "OidcVerifier", "VerifiedToken"]

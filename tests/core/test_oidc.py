"""OIDC verification against a loopback identity provider with its own keys and JWKS.

The provider (a small FastAPI app under uvicorn) publishes discovery and JWKS documents the
way Keycloak does, rotates its keys on demand and counts JWKS fetches. Tokens are signed with
PyJWT and, for the forged ones, by hand.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI
from pydantic import ValidationError

from core.errors import InvalidToken, UpstreamError
from core.oidc import OidcSettings, OidcVerifier
from tests.support.server import serve

AUDIENCE = "kb-api"


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(kid: str, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> dict[str, Any]:
    if isinstance(key, rsa.RSAPrivateKey):
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    else:
        jwk = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "use": "sig"}


@dataclass
class IdentityProvider:
    """Keycloak's shape: /realms/kb issuer, discovery, JWKS; keys can rotate."""

    url: str = ""
    keys: dict[str, Any] = field(default_factory=dict)
    jwks_fetches: int = 0

    @property
    def issuer(self) -> str:
        return f"{self.url}/realms/kb"

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/realms/kb/.well-known/openid-configuration")
        async def discovery() -> dict[str, str]:
            return {
                "issuer": self.issuer,
                "jwks_uri": f"{self.issuer}/protocol/openid-connect/certs",
            }

        @app.get("/realms/kb/protocol/openid-connect/certs")
        async def certs() -> dict[str, Any]:
            self.jwks_fetches += 1
            return {"keys": [public_jwk(kid, key) for kid, key in self.keys.items()]}

        return app

    def token(
        self, kid: str = "k1", algorithm: str = "RS256", key: Any = None, **claims: Any
    ) -> str:
        now = int(time.time())
        body = {"iss": self.issuer, "aud": AUDIENCE, "sub": "user-42", "iat": now,
                "exp": now + 300, "groups": ["hr", "finance"], **claims}  # fmt: skip
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, key or self.keys[kid], algorithm=algorithm, headers={"kid": kid})


@pytest.fixture(scope="module")
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider(keys={"k1": rsa_key()})
    with serve(provider.app()) as url:
        provider.url = url
        yield provider


@pytest.fixture
async def verifier(idp):
    settings = OidcSettings(issuer=idp.issuer, audience=AUDIENCE, refresh_min_interval_s=60)
    verifier = OidcVerifier(settings)
    yield verifier
    await verifier.aclose()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    head = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    return f"{head}.{b64(signature)}"


async def refused(verifier: OidcVerifier, token: str) -> str:
    with pytest.raises(InvalidToken) as caught:
        await verifier.verify(token)
    assert caught.value.status_code == 401
    assert caught.value.message == "invalid bearer token"  # the same for every failure
    return caught.value.reason


async def test_a_good_token_gives_subject_groups_and_claims(idp, verifier):
    verified = await verifier.verify(idp.token())
    assert verified.subject == "user-42"
    assert verified.groups == ["hr", "finance"]
    assert verified.claims["aud"] == AUDIENCE


async def test_groups_from_a_nested_claim(idp):
    settings = OidcSettings(issuer=idp.issuer, audience=AUDIENCE, groups_claim="realm_access.roles")
    verifier = OidcVerifier(settings)
    try:
        token = idp.token(realm_access={"roles": ["kb-admin"]})
        assert (await verifier.verify(token)).groups == ["kb-admin"]
    finally:
        await verifier.aclose()


async def test_small_clock_skew_is_allowed_and_more_is_not(idp, verifier):
    now = int(time.time())
    await verifier.verify(idp.token(exp=now - 10))  # within the 30 s leeway
    assert "Expired" in await refused(verifier, idp.token(exp=now - 120))
    assert "Immature" in await refused(verifier, idp.token(nbf=now + 120))


async def test_wrong_audience_or_issuer_is_refused(idp, verifier):
    assert "Audience" in await refused(verifier, idp.token(aud="another-client"))
    assert "Issuer" in await refused(verifier, idp.token(iss=f"{idp.url}/realms/other"))


async def test_missing_claims_are_refused(idp, verifier):
    assert "sub" in await refused(verifier, idp.token(sub=None))
    assert "exp" in await refused(verifier, idp.token(exp=None))


async def test_alg_none_is_refused(idp, verifier):
    claims = jwt.decode(idp.token(), options={"verify_signature": False})
    for alg in ("none", "None", "NONE"):
        reason = await refused(verifier, unsigned({"alg": alg, "kid": "k1"}, claims))
        assert "not allowed" in reason


async def test_hs256_signed_with_the_public_key_is_refused(idp, verifier):
    # The classic confusion attack: the provider's public key used as an HMAC secret.
    claims = jwt.decode(idp.token(), options={"verify_signature": False})
    pem = (
        idp.keys["k1"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = {"alg": "HS256", "kid": "k1", "typ": "JWT"}
    head = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    signature = hmac.new(pem, head.encode(), hashlib.sha256).digest()
    assert "not allowed" in await refused(verifier, f"{head}.{b64(signature)}")


async def test_a_foreign_signature_is_refused(idp, verifier):
    forged = idp.token(key=rsa_key())  # claims kid k1, signed with another key
    assert "Signature" in await refused(verifier, forged)
    assert "malformed" in await refused(verifier, "not-a-token")


async def test_unknown_key_ids_are_refused_and_refetch_is_rate_limited(idp, verifier):
    await verifier.verify(idp.token())
    fetched = verifier.keys.fetches
    for n in range(5):
        reason = await refused(verifier, idp.token(kid=f"ghost{n}", key=rsa_key()))
        assert "unknown key id" in reason
    # One refetch at most within refresh_min_interval_s (here: none, the first fetch is new).
    assert verifier.keys.fetches == fetched


async def test_key_rotation_is_picked_up_on_an_unknown_kid(idp):
    settings = OidcSettings(issuer=idp.issuer, audience=AUDIENCE, refresh_min_interval_s=0)
    verifier = OidcVerifier(settings)
    old = dict(idp.keys)
    try:
        await verifier.verify(idp.token())
        idp.keys = {"k2": rsa_key()}  # the provider rotates: k1 retired, k2 signs
        verified = await verifier.verify(idp.token(kid="k2"))
        assert verified.subject == "user-42"
        assert verifier.keys.fetches == 2
        assert "unknown key id" in await refused(verifier, idp.token(kid="k1", key=old["k1"]))
    finally:
        idp.keys = old
        await verifier.aclose()


async def test_a_key_of_another_family_is_refused(idp):
    idp.keys["ec1"] = ec.generate_private_key(ec.SECP256R1())
    settings = OidcSettings(issuer=idp.issuer, audience=AUDIENCE, refresh_min_interval_s=0)
    verifier = OidcVerifier(settings)
    try:
        good = await verifier.verify(idp.token(kid="ec1", algorithm="ES256"))
        assert good.subject == "user-42"
        # An RS256 token pointing at the EC key: the key cannot serve that algorithm.
        claims = jwt.decode(idp.token(), options={"verify_signature": False})
        token = jwt.encode(claims, idp.keys["k1"], algorithm="RS256", headers={"kid": "ec1"})
        assert await refused(verifier, token)
    finally:
        del idp.keys["ec1"]
        await verifier.aclose()


async def test_a_provider_naming_another_issuer_is_an_upstream_error(idp):
    settings = OidcSettings(issuer=f"{idp.url}/realms/kb/", audience=AUDIENCE)
    verifier = OidcVerifier(settings)
    try:
        with pytest.raises(UpstreamError, match="names issuer"):
            await verifier.verify(idp.token())
    finally:
        await verifier.aclose()


@pytest.mark.parametrize("algorithms", [["HS256"], ["RS256", "none"], []])
def test_symmetric_and_none_algorithms_cannot_be_configured(algorithms):
    with pytest.raises(ValidationError, match="asymmetric"):
        OidcSettings(issuer="https://idp", audience="a", algorithms=algorithms)

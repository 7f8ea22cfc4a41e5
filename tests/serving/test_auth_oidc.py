"""OIDC tokens at the API: the app under uvicorn trusts a loopback identity provider.

A token user's groups (from the token) meet the grants in the metadata store; a token from
an admin group administers; forged, expired and `alg: none` tokens are the same 401 in the
OpenAI envelope as a missing key; API keys keep working beside tokens.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from core.auth.grants import Grants
from core.auth.principal import Level
from core.auth.settings import AuthSettings
from core.db.engine import Database, database_url
from core.embeddings import Embedder
from core.oidc import OidcSettings
from ingest.settings import IngestSettings
from serving.app import create_app
from serving.settings import ServingSettings
from tests.core.test_oidc import AUDIENCE, IdentityProvider, rsa_key
from tests.serving.test_auth import copy, keys, template  # noqa: F401 (fixtures)
from tests.support.server import free_port, serve


@pytest.fixture(scope="module")
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider(keys={"k1": rsa_key()})
    with serve(provider.app()) as url:
        provider.url = url
        yield provider


@pytest.fixture(scope="module")
def url(
    template: Path, keys: dict[str, str], idp: IdentityProvider, embedder: Embedder,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:  # fmt: skip
    """The auth module's three knowledge bases; the group `finance-team` may read finance."""
    data = copy(template, tmp_path_factory.mktemp("oidc"))
    db = Database(database_url(None, data))
    Grants(db).set("finance", "group", "finance-team", Level.READ)
    db.close()
    port = free_port()
    oidc = OidcSettings(issuer=idp.issuer, audience=AUDIENCE)
    settings = ServingSettings(port=port, auth=AuthSettings(enabled=True), oidc=oidc)
    app = create_app(settings, IngestSettings(data_dir=data), embedder=embedder)
    with serve(app, port=port) as served:
        yield served


def models(url: str, token: str) -> list[str]:
    with openai.OpenAI(base_url=f"{url}/v1", api_key=token, max_retries=0) as client:
        return sorted(model.id for model in client.models.list())


def test_a_token_users_groups_meet_the_grants(url, idp):
    token = idp.token(sub="carol", groups=["finance-team"])
    assert models(url, token) == ["kb/finance"]
    with openai.OpenAI(base_url=f"{url}/v1", api_key=token, max_retries=0) as client:
        answer = client.chat.completions.create(
            model="kb/finance", messages=[{"role": "user", "content": "How much for meals?"}]
        )
        assert "50 euros" in (answer.choices[0].message.content or "")
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(
                model="kb/secret", messages=[{"role": "user", "content": "The merger?"}]
            )
    headers = {"Authorization": f"Bearer {token}"}
    asked = {"query": "merger", "knowledge_bases": ["finance"]}
    found = httpx.post(f"{url}/v1/retrieve", headers=headers, json=asked).json()
    assert found["data"]
    assert {hit["kb"] for hit in found["data"]} == {"finance"}
    asked["knowledge_bases"] = ["secret"]
    assert httpx.post(f"{url}/v1/retrieve", headers=headers, json=asked).status_code == 404
    assert httpx.get(f"{url}/v1/audit", headers=headers).status_code == 403


def test_an_admin_group_token_administers(url, idp):
    token = idp.token(sub="dana", groups=["kb-admins"])
    assert models(url, token) == ["kb/finance", "kb/hr", "kb/secret"]
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{url}/v1/audit", headers=headers).status_code == 200


@pytest.mark.parametrize(
    "forge",
    [
        lambda idp: idp.token(exp=1),
        lambda idp: idp.token(aud="another-client"),
        lambda idp: idp.token(iss="https://evil.example/realms/kb"),
        lambda idp: idp.token(key=rsa_key()),
        lambda idp: idp.token(kid="unknown", key=rsa_key()),
        lambda idp: "eyJhbGciOiJub25lIn0.eyJzdWIiOiJyb290In0.",
    ],
    ids=["expired", "audience", "issuer", "foreign-key", "unknown-kid", "alg-none"],
)
def test_bad_tokens_are_the_same_401_as_no_key(url, idp, forge):
    response = httpx.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {forge(idp)}"})
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["type"] == "authentication_error"
    assert error["message"] == "invalid token"


def test_api_keys_work_beside_tokens(url, keys):  # noqa: F811
    assert models(url, keys["alice"]) == ["kb/hr"]

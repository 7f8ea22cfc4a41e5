"""Users, groups, API keys and grants in the metadata store: one contract, both backends."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from core.auth import Level, Scope
from core.auth.authenticator import Authenticator
from core.auth.directory import Directory
from core.auth.grants import Grants
from core.auth.keys import split
from core.auth.settings import AuthSettings
from core.auth.verify import ExternalTokens
from core.db.engine import Database, database_url
from core.db.migrate import upgrade
from core.db.schema import api_keys
from core.errors import Conflict, InvalidRequest, NotFound, Unauthorized
from ingest.registry import Registry


@pytest.fixture
def db(metadata_url: str | None, tmp_path: Path) -> Iterator[Database]:
    database = Database(database_url(metadata_url, tmp_path))
    upgrade(database)
    registry = Registry(database)
    for kb in ("hr", "finance", "legal"):
        registry.create_kb(kb)
    yield database
    database.close()


def test_keys_are_stored_as_hashes_and_checked(db: Database) -> None:
    directory = Directory(db)
    directory.add_user("alice")
    new = directory.create_key("alice", ["read", "ingest"], label="laptop")
    key_id, secret = split(new.token) or ("", "")
    assert key_id == new.id
    with db.read() as conn:
        stored = conn.execute(select(api_keys.c.secret_hash)).scalar_one()
    assert secret not in stored
    assert new.token not in stored
    assert len(stored) == 64
    row = directory.key_row(new.id)
    assert row is not None
    assert (row.user, row.scopes, row.is_admin) == (
        "alice",
        frozenset({Scope.READ, Scope.INGEST}),
        False,
    )
    listed = directory.keys("alice")
    assert [(k.id, k.scopes, k.label, k.revoked_at) for k in listed] == [
        (new.id, ("ingest", "read"), "laptop", None)
    ]


def test_a_key_needs_a_user_and_known_scopes(db: Database) -> None:
    directory = Directory(db)
    with pytest.raises(NotFound):
        directory.create_key("nobody", ["read"])
    directory.add_user("bob")
    with pytest.raises(InvalidRequest, match="unknown scope"):
        directory.create_key("bob", ["write"])
    with pytest.raises(InvalidRequest, match="at least one scope"):
        directory.create_key("bob", [])
    with pytest.raises(Conflict):
        directory.add_user("bob")
    with pytest.raises(InvalidRequest):
        directory.add_user("no spaces")


async def test_revoked_expired_and_forged_keys_are_refused(db: Database) -> None:
    auth = Authenticator(AuthSettings(enabled=True), db)
    auth.directory.add_user("carol", is_admin=True)
    good = auth.directory.create_key("carol", ["read", "admin"])
    principal = await auth.principal(f"Bearer {good.token}", "10.1.2.3")
    assert (principal.user, principal.key_id, principal.is_admin) == ("carol", good.id, True)
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat(timespec="seconds")
    expired = auth.directory.create_key("carol", ["read"], expires_at=past)
    forged = good.token[:-4] + "AAAA"
    for header in (f"Bearer {expired.token}", f"Bearer {forged}", "Bearer kb_nope_x", None):
        with pytest.raises(Unauthorized):
            await auth.principal(header, "10.1.2.3")
    auth.directory.revoke_key(good.id)
    with pytest.raises(Unauthorized):
        await auth.principal(f"Bearer {good.token}", "10.1.2.3")
    with pytest.raises(NotFound):
        auth.directory.revoke_key(good.id)  # only active keys can be revoked


async def test_admin_needs_both_the_admin_user_and_the_admin_scope(db: Database) -> None:
    auth = Authenticator(AuthSettings(enabled=True), db)
    auth.directory.add_user("dave")
    plain = auth.directory.create_key("dave", ["read", "admin"])
    assert not (await auth.principal(f"Bearer {plain.token}", None)).is_admin
    auth.directory.set_admin("dave", True)
    assert (await auth.principal(f"Bearer {plain.token}", None)).is_admin
    reader = auth.directory.create_key("dave", ["read"])
    assert not (await auth.principal(f"Bearer {reader.token}", None)).is_admin


def test_effective_grants_are_the_highest_over_user_and_groups(db: Database) -> None:
    directory, grants = Directory(db), Grants(db)
    for user in ("erin", "frank"):
        directory.add_user(user)
    directory.add_group("auditors")
    directory.add_member("auditors", "erin")
    grants.set("hr", "user", "erin", Level.READ)
    grants.set("hr", "group", "auditors", Level.WRITE)
    grants.set("finance", "group", "auditors", Level.READ)
    grants.set("legal", "user", "frank", Level.MANAGE)
    erin = grants.effective("erin", directory.groups_of("erin"))
    assert erin == {"hr": Level.WRITE, "finance": Level.READ}
    assert grants.effective("frank", directory.groups_of("frank")) == {"legal": Level.MANAGE}
    grants.set("legal", "user", "frank", Level.READ)  # replaces, never adds a second row
    assert [(g.subject, g.level) for g in grants.of_kb("legal")] == [("frank", Level.READ)]
    with pytest.raises(NotFound):
        grants.set("missing", "user", "frank", Level.READ)


def test_grants_go_with_their_knowledge_base_user_and_group(db: Database) -> None:
    directory, grants = Directory(db), Grants(db)
    directory.add_user("gina")
    directory.add_group("team")
    directory.add_member("team", "gina")
    grants.set("hr", "user", "gina", Level.READ)
    grants.set("finance", "group", "team", Level.READ)
    key = directory.create_key("gina", ["read"])
    Registry(db).delete_kb("hr")
    Registry(db).create_kb("hr")  # a new knowledge base of the same name starts ungranted
    assert grants.effective("gina", {"team"}) == {"finance": Level.READ}
    directory.delete_group("team")
    assert directory.groups_of("gina") == frozenset()
    assert grants.effective("gina", {"team"}) == {}
    directory.delete_user("gina")
    assert directory.key_row(key.id) is None
    assert directory.users() == []


@dataclass(frozen=True)
class _Claims:
    subject: str
    groups: tuple[str, ...]


class _Provider:
    """Stands in for `core.oidc.OidcVerifier` (another branch): `verify` raises on bad tokens."""

    def verify(self, token: str) -> _Claims:
        if token == "head.good.sig":
            return _Claims("hana@corp", ("finance-team",))
        if token == "head.boss.sig":
            return _Claims("ivan@corp", ("admins",))
        raise ValueError("signature mismatch")


async def test_identity_provider_tokens_plug_in_as_one_more_verifier(db: Database) -> None:
    tokens = ExternalTokens(_Provider(), errors=(ValueError,), admin_groups=frozenset({"admins"}))
    auth = Authenticator(AuthSettings(enabled=True), db, verifiers=[tokens])
    Grants(db).set("finance", "group", "finance-team", Level.READ)
    hana = await auth.principal("Bearer head.good.sig", None)
    assert (hana.user, hana.key_id, hana.is_admin) == ("hana@corp", None, False)
    assert hana.readable == frozenset({"finance"})
    assert (await auth.principal("Bearer head.boss.sig", None)).readable is None  # an admin
    with pytest.raises(Unauthorized) as refused:
        await auth.principal("Bearer head.forged.sig", None)
    assert "signature" not in refused.value.message  # no detail leaks
    auth.directory.add_user("jo")
    key = auth.directory.create_key("jo", ["read"])
    assert (await auth.principal(f"Bearer {key.token}", None)).user == "jo"


async def test_a_replica_that_remembers_a_caller_sees_revocations_and_grants_at_once(
    db: Database,
) -> None:
    replica, other = (Authenticator(AuthSettings(enabled=True), db) for _ in range(2))
    other.directory.add_user("kim")
    key = other.directory.create_key("kim", ["read"])
    header = f"Bearer {key.token}"
    assert (await replica.principal(header, None)).readable == frozenset()
    assert await replica.principal(header, None) is await replica.principal(header, None)
    other.grants.set("legal", "user", "kim", Level.READ)
    assert (await replica.principal(header, None)).readable == frozenset({"legal"})
    Registry(db).delete_kb("legal")  # and a new one of the same name is not kim's
    Registry(db).create_kb("legal")
    assert (await replica.principal(header, None)).readable == frozenset()
    other.directory.revoke_key(key.id)
    with pytest.raises(Unauthorized):
        await replica.principal(header, None)

"""Admin API of identities and access: users, groups, API keys (admin) and grants (manage)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, Field

from core.audit import AuditLog
from core.audit.note import audit_note
from core.auth.authenticator import Authenticator
from core.auth.dependency import AdminDep, CallerDep, authenticate, require_kb
from core.auth.principal import Level
from serving.conversations.store import ConversationStore
from serving.feedback.store import FeedbackStore

router = APIRouter(prefix="/v1", tags=["access"], dependencies=[Depends(authenticate)])


def _auth(request: Request) -> Authenticator:
    auth: Authenticator = request.app.state.auth
    return auth


AuthDep = Annotated[Authenticator, Depends(_auth)]
LevelName = Literal["read", "write", "manage"]


class UserIn(BaseModel):
    """A user: a name the organisation knows (a key's owner, or a token's subject)."""

    name: str = Field(min_length=1, max_length=128)
    is_admin: bool = False


class UserOut(UserIn):
    """A user as listed."""

    created_at: str


class GroupIn(BaseModel):
    """A group of users; grants to it apply to each member."""

    name: str = Field(min_length=1, max_length=128)


class GroupOut(GroupIn):
    """A group with its members."""

    members: list[str]


class KeyIn(BaseModel):
    """Body of `POST /v1/keys`."""

    user: str
    scopes: list[Literal["read", "ingest", "admin"]] = Field(min_length=1)
    expires_at: str | None = Field(None, description="ISO 8601 UTC, e.g. 2027-01-31T00:00:00+00:00")
    label: str = Field("", max_length=200)


class KeyOut(BaseModel):
    """A key without its secret."""

    id: str
    user: str
    scopes: list[str]
    label: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None


class NewKeyOut(BaseModel):
    """A created key: `key` is shown this once and never again."""

    id: str
    key: str


class GrantIn(BaseModel):
    """A level on one knowledge base for a user or a group."""

    subject_kind: Literal["user", "group"]
    subject: str = Field(min_length=1, max_length=128)
    level: LevelName


class GrantOut(GrantIn):
    """A grant as stored."""

    kb: str


@router.get("/users")
async def list_users(auth: AuthDep, _: AdminDep) -> list[UserOut]:
    """Every user (admin)."""
    return [UserOut(name=n, is_admin=a, created_at=c) for n, a, c in auth.directory.users()]


@router.post("/users", status_code=status.HTTP_201_CREATED)
async def add_user(body: UserIn, auth: AuthDep, _: AdminDep) -> UserIn:
    """Add a user (admin)."""
    auth.directory.add_user(body.name, is_admin=body.is_admin)
    return body


@router.delete("/users/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_user(name: str, request: Request, auth: AuthDep, _: AdminDep) -> None:
    """Remove a user with its keys, memberships and grants, and erase them (admin).

    Erasure (GDPR/PIPL): their conversations go, their ratings lose their texts, and their
    audit records become pseudonymous; the audit chain still verifies.
    """
    auth.directory.delete_user(name)
    state = request.app.state
    conversations: ConversationStore = state.conversations
    feedback: FeedbackStore = state.feedback
    audit: AuditLog = state.audit
    conversations.erase_user(name)
    feedback.erase_user(name)
    pseudonym = audit.erase(name)[0]
    # This request's own record would name them in its path: it names the pseudonym instead.
    audit_note(request).detail["params"] = {"name": pseudonym}


@router.get("/groups")
async def list_groups(auth: AuthDep, _: AdminDep) -> list[GroupOut]:
    """Every group with its members (admin)."""
    return [GroupOut(name=g, members=m) for g, m in auth.directory.groups().items()]


@router.post("/groups", status_code=status.HTTP_201_CREATED)
async def add_group(body: GroupIn, auth: AuthDep, _: AdminDep) -> GroupIn:
    """Add a group (admin)."""
    auth.directory.add_group(body.name)
    return body


@router.delete("/groups/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_group(name: str, auth: AuthDep, _: AdminDep) -> None:
    """Remove a group with its memberships and grants (admin)."""
    auth.directory.delete_group(name)


@router.put("/groups/{name}/members/{user}", status_code=status.HTTP_204_NO_CONTENT)
async def add_member(name: str, user: str, auth: AuthDep, _: AdminDep) -> None:
    """Put a user in a group (admin)."""
    auth.directory.add_member(name, user)


@router.delete("/groups/{name}/members/{user}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(name: str, user: str, auth: AuthDep, _: AdminDep) -> None:
    """Take a user out of a group (admin)."""
    auth.directory.remove_member(name, user)


@router.get("/keys")
async def list_keys(auth: AuthDep, _: AdminDep, user: str | None = None) -> list[KeyOut]:
    """API keys, without their secrets (admin)."""
    return [KeyOut(**{**k.__dict__, "scopes": list(k.scopes)}) for k in auth.directory.keys(user)]


@router.post("/keys", status_code=status.HTTP_201_CREATED)
async def create_key(body: KeyIn, auth: AuthDep, _: AdminDep) -> NewKeyOut:
    """Create a key for a user (admin); the key is in this answer only."""
    new = auth.directory.create_key(
        body.user, body.scopes, expires_at=body.expires_at, label=body.label
    )
    return NewKeyOut(id=new.id, key=new.token)


@router.delete("/keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_key(key_id: str, auth: AuthDep, _: AdminDep) -> None:
    """Revoke a key at once (admin)."""
    auth.directory.revoke_key(key_id)


@router.get("/knowledge-bases/{kb}/grants")
async def list_grants(kb: str, auth: AuthDep, caller: CallerDep) -> list[GrantOut]:
    """Who may do what on a knowledge base (manage)."""
    require_kb(caller, kb, Level.MANAGE)
    return [
        GrantOut(kb=kb, subject_kind=g.subject_kind, subject=g.subject, level=g.level.label)
        for g in auth.grants.of_kb(kb)
    ]


@router.put("/knowledge-bases/{kb}/grants")
async def set_grant(kb: str, body: GrantIn, auth: AuthDep, caller: CallerDep) -> GrantOut:
    """Grant a user or group a level on a knowledge base, replacing theirs (manage)."""
    require_kb(caller, kb, Level.MANAGE)
    auth.grants.set(kb, body.subject_kind, body.subject, Level.parse(body.level))
    return GrantOut(kb=kb, **body.model_dump())


@router.delete(
    "/knowledge-bases/{kb}/grants/{subject_kind}/{subject}",
    status_code=status.HTTP_204_NO_CONTENT,
)
async def remove_grant(
    kb: str, subject_kind: Literal["user", "group"], subject: str, auth: AuthDep, caller: CallerDep
) -> None:
    """Take a grant away (manage)."""
    require_kb(caller, kb, Level.MANAGE)
    auth.grants.remove(kb, subject_kind, subject)

"""The FastAPI dependency that authenticates every API request, and the checks routes add.

Routers declare `dependencies=[Depends(authenticate)]`, so every route of a package is
authenticated whether or not it asks for the caller; routes that need the caller take
`CallerDep` (FastAPI runs the dependency once per request either way).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from core.auth.authenticator import NO_AUTH_REMOTE, Authenticator, is_loopback
from core.auth.limits import Limiter
from core.auth.principal import LOCAL_ADMIN, Level, Principal
from core.auth.scope import enter
from core.errors import Forbidden, NotFound, Unauthorized
from core.observability import context

# Declares the scheme in the OpenAPI document (the docs' "Authorize" button); the header itself
# is read below, so that a missing key gets our envelope rather than FastAPI's own 403.
_bearer = HTTPBearer(auto_error=False, description="An API key: `kb keys create`.")


async def authenticate(
    request: Request,
    _: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
) -> Principal:
    """The caller, put on `request.state.principal` and made current for the request.

    Must stay `async`: FastAPI runs it in the request's own task, so the caller it sets is
    the one every query of the request sees.
    """
    auth: Authenticator | None = getattr(request.app.state, "auth", None)
    client = request.client.host if request.client else None
    if auth is None:  # an app wired without authentication: the embedded default's rule
        if not is_loopback(client):
            raise Unauthorized(NO_AUTH_REMOTE)
        principal = LOCAL_ADMIN
    else:
        principal = await auth.principal(request.headers.get("authorization"), client)
    request.state.principal = principal
    enter(principal)
    context.user.set(principal.user)  # the request's log lines name who asked
    limiter: Limiter | None = getattr(request.app.state, "limiter", None)
    if limiter is not None:
        await limiter.admit(principal)
    return principal


CallerDep = Annotated[Principal, Depends(authenticate)]


def unknown_kb(kb: str) -> NotFound:
    """What a knowledge base one may not read looks like: exactly a missing one."""
    return NotFound(f"knowledge base {kb!r} does not exist")


def require_kb(principal: Principal, kb: str, level: Level) -> None:
    """404 unless the caller may read `kb`; 403 if it may read but not act at `level`."""
    if not principal.may(kb, Level.READ):
        raise unknown_kb(kb)
    if not principal.may(kb, level):
        raise Forbidden(f"{level.label} access to knowledge base {kb!r} is not granted to you")


def require_admin(principal: Principal) -> None:
    """403 unless the caller is an admin."""
    if not principal.is_admin:
        raise Forbidden("this needs an admin: a key with the admin scope of an admin user")


async def admin(principal: CallerDep) -> Principal:
    """A dependency for admin-only routes."""
    require_admin(principal)
    return principal


AdminDep = Annotated[Principal, Depends(admin)]

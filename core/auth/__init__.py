"""Identities and access: who is calling, and which knowledge bases they may read or change.

`Authenticator` turns a request's bearer token into a `Principal` once per request (the
FastAPI dependency in `core.auth.dependency`); `core.auth.scope` restricts every
`Visibility` snapshot to the caller's readable knowledge bases, so that each vector query and
scroll carries the grant filter without any route having to remember it. Users, groups, API
keys and grants live in the metadata store (`core.auth.directory`, `core.auth.grants`).
"""

from core.auth.principal import LOCAL_ADMIN, Level, Principal, Scope

__all__ = ["LOCAL_ADMIN", "Level", "Principal", "Scope"]

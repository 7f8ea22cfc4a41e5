"""`Principal`: the caller of one request, with its scopes, groups and grants."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum


class Scope(StrEnum):
    """What a key may be used for, whatever its user's grants allow."""

    READ = "read"  # ask, retrieve, list and read documents
    INGEST = "ingest"  # upload and delete documents, manage grants of managed bases
    ADMIN = "admin"  # keys, users, groups, the model alias, feedback export, fine-tuning


class Level(IntEnum):
    """Grant levels on one knowledge base; each includes the ones below it."""

    READ = 1  # ask, retrieve, see documents
    WRITE = 2  # upload, delete documents
    MANAGE = 3  # grants, delete the knowledge base

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, label: str) -> Level:
        return cls[label.upper()]


# A key's scope needed on top of the grant: a read-only key never changes anything.
_SCOPE_FOR = {Level.READ: Scope.READ, Level.WRITE: Scope.INGEST, Level.MANAGE: Scope.INGEST}


@dataclass(frozen=True)
class Principal:
    """Who calls: a user, through a key (`key_id`) or a token, with what rights.

    `grants` is the effective level per knowledge base (the highest of the user's own and
    its groups'); admins may do everything on every knowledge base.
    """

    user: str
    key_id: str | None
    scopes: frozenset[Scope]
    groups: frozenset[str] = frozenset()
    is_admin: bool = False
    grants: Mapping[str, Level] = field(default_factory=dict)

    @property
    def subject(self) -> str:
        """What rate limits count against: the key, else the user."""
        return f"key:{self.key_id}" if self.key_id else f"user:{self.user}"

    @property
    def readable(self) -> frozenset[str] | None:
        """Knowledge bases this caller may read; None: every one (an admin)."""
        if self.is_admin:
            return None
        if Scope.READ not in self.scopes:
            return frozenset()
        return frozenset(self.grants)

    def may(self, kb: str, level: Level) -> bool:
        """Whether this caller may act at `level` on `kb`."""
        if self.is_admin:
            return True
        granted = self.grants.get(kb)
        return granted is not None and granted >= level and _SCOPE_FOR[level] in self.scopes


# The embedded default: no authentication configured, one local user who may do everything.
LOCAL_ADMIN = Principal(user="local", key_id=None, scopes=frozenset(Scope), is_admin=True)

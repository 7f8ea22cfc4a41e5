"""`Directory`: users, groups and API keys in the metadata store (SQLite or PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.exc import IntegrityError

from core.auth import keys, stamp
from core.auth.principal import Scope
from core.db.engine import Database
from core.db.schema import api_keys, group_members, groups, kb_grants, users, utc_now
from core.errors import Conflict, InvalidRequest, NotFound

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}$")


@dataclass(frozen=True)
class KeyInfo:
    """An API key as listed: everything but its secret."""

    id: str
    user: str
    scopes: tuple[str, ...]
    label: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None


@dataclass(frozen=True)
class KeyRow:
    """What checking a key needs, read in one query."""

    user: str
    secret_hash: str
    scopes: frozenset[Scope]
    expires_at: str | None
    revoked_at: str | None
    is_admin: bool


def check_name(name: str, what: str) -> str:
    """`name` if it is a valid user or group name, else InvalidRequest."""
    if not NAME.match(name):
        raise InvalidRequest(
            f"invalid {what} name {name!r}: 1-128 letters, digits, '.', '_', '@', '+' or '-'"
        )
    return name


def parse_scopes(values: Iterable[str]) -> frozenset[Scope]:
    """Scope names as Scopes; InvalidRequest for an unknown one or none at all."""
    try:
        scopes = frozenset(Scope(v) for v in values)
    except ValueError as exc:
        raise InvalidRequest(f"unknown scope: {exc}; use read, ingest or admin") from exc
    if not scopes:
        raise InvalidRequest("a key needs at least one scope: read, ingest or admin")
    return scopes


class Directory:
    """Who exists: users (admin or not), groups and their members, and API keys."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- users ---------------------------------------------------------------------------
    def add_user(self, name: str, *, is_admin: bool = False) -> None:
        row = {"name": check_name(name, "user"), "is_admin": is_admin, "created_at": utc_now()}
        self._insert(users, row, f"user {name!r} already exists")

    def ensure_user(self, name: str) -> None:
        if name not in self.user_names():
            self.add_user(name)

    def set_admin(self, name: str, is_admin: bool) -> None:
        with self._db.write() as conn:
            stamp.bump(conn)
            done = conn.execute(
                users.update().where(users.c.name == name).values(is_admin=is_admin)
            )
        if not done.rowcount:
            raise NotFound(f"user {name!r} does not exist")

    def users(self) -> list[tuple[str, bool, str]]:
        """(name, is_admin, created_at) of every user, by name."""
        with self._db.read() as conn:
            rows = conn.execute(select(users.c.name, users.c.is_admin, users.c.created_at))
            return sorted((str(n), bool(a), str(c)) for n, a, c in rows)

    def user_names(self) -> set[str]:
        with self._db.read() as conn:
            return set(conn.execute(select(users.c.name)).scalars())

    def delete_user(self, name: str) -> None:
        """The user with its keys, memberships and grants."""
        with self._db.write() as conn:
            stamp.bump(conn)
            grants = kb_grants.c
            conn.execute(
                kb_grants.delete().where(grants.subject_kind == "user", grants.subject == name)
            )
            conn.execute(api_keys.delete().where(api_keys.c.user_name == name))
            conn.execute(group_members.delete().where(group_members.c.user_name == name))
            done = conn.execute(users.delete().where(users.c.name == name))
        if not done.rowcount:
            raise NotFound(f"user {name!r} does not exist")

    # -- groups --------------------------------------------------------------------------
    def add_group(self, name: str) -> None:
        row = {"name": check_name(name, "group"), "created_at": utc_now()}
        self._insert(groups, row, f"group {name!r} already exists")

    def groups(self) -> dict[str, list[str]]:
        """Every group with its members, by name."""
        with self._db.read() as conn:
            names = conn.execute(select(groups.c.name)).scalars().all()
            members = conn.execute(select(group_members.c.group_name, group_members.c.user_name))
            out: dict[str, list[str]] = {str(n): [] for n in names}
            for group, user in members:
                out[str(group)].append(str(user))
        return {g: sorted(m) for g, m in sorted(out.items())}

    def delete_group(self, name: str) -> None:
        with self._db.write() as conn:
            stamp.bump(conn)
            grants = kb_grants.c
            conn.execute(
                kb_grants.delete().where(grants.subject_kind == "group", grants.subject == name)
            )
            conn.execute(group_members.delete().where(group_members.c.group_name == name))
            done = conn.execute(groups.delete().where(groups.c.name == name))
        if not done.rowcount:
            raise NotFound(f"group {name!r} does not exist")

    def add_member(self, group: str, user: str) -> None:
        if group not in self.groups():
            raise NotFound(f"group {group!r} does not exist")
        if user not in self.user_names():
            raise NotFound(f"user {user!r} does not exist")
        row = {"group_name": group, "user_name": user}
        self._insert(group_members, row, f"{user!r} is already in group {group!r}")

    def remove_member(self, group: str, user: str) -> None:
        m = group_members.c
        with self._db.write() as conn:
            stamp.bump(conn)
            done = conn.execute(
                group_members.delete().where(m.group_name == group, m.user_name == user)
            )
        if not done.rowcount:
            raise NotFound(f"user {user!r} is not in group {group!r}")

    def groups_of(self, user: str) -> frozenset[str]:
        m = group_members.c
        with self._db.read() as conn:
            found = conn.execute(select(m.group_name).where(m.user_name == user)).scalars()
            return frozenset(found)

    # -- keys ----------------------------------------------------------------------------
    def create_key(
        self, user: str, scopes: Iterable[str], *, expires_at: str | None = None, label: str = ""
    ) -> keys.NewKey:
        """A new key for an existing user; the returned token is never readable again."""
        chosen = parse_scopes(scopes)
        if user not in self.user_names():
            raise NotFound(f"user {user!r} does not exist")
        new, secret_hash = keys.generate()
        row = {
            "id": new.id, "user_name": user, "secret_hash": secret_hash,
            "scopes": " ".join(sorted(chosen)), "label": label, "created_at": utc_now(),
            "expires_at": expires_at,
        }  # fmt: skip
        self._insert(api_keys, row, "key id collision; try again")
        return new

    def revoke_key(self, key_id: str) -> None:
        k = api_keys.c
        with self._db.write() as conn:
            stamp.bump(conn)
            done = conn.execute(
                api_keys.update()
                .where(k.id == key_id, k.revoked_at.is_(None))
                .values(revoked_at=utc_now())
            )
        if not done.rowcount:
            raise NotFound(f"no active key {key_id!r}")

    def keys(self, user: str | None = None) -> list[KeyInfo]:
        k = api_keys.c
        statement = select(api_keys).order_by(k.created_at, k.id)
        if user is not None:
            statement = statement.where(k.user_name == user)
        with self._db.read() as conn:
            rows = conn.execute(statement).mappings().all()
        return [_key_info(r) for r in rows]

    def key_row(self, key_id: str) -> KeyRow | None:
        """The key with its user's admin flag, or None if there is no such key."""
        k = api_keys.c
        statement = (
            select(
                k.user_name, k.secret_hash, k.scopes, k.expires_at, k.revoked_at, users.c.is_admin
            )
            .join(users, users.c.name == k.user_name)
            .where(k.id == key_id)
        )
        with self._db.read() as conn:
            row = conn.execute(statement).first()
        if row is None:
            return None
        user, secret_hash, scopes, expires, revoked, is_admin = row
        return KeyRow(
            user, secret_hash, frozenset(Scope(s) for s in scopes.split()), expires, revoked,
            bool(is_admin),
        )  # fmt: skip

    def _insert(self, table: Table, row: Mapping[str, object], conflict: str) -> None:
        try:
            with self._db.write() as conn:
                stamp.bump(conn)
                conn.execute(table.insert().values(**row))
        except IntegrityError as exc:
            raise Conflict(conflict) from exc


def _key_info(r: Any) -> KeyInfo:
    return KeyInfo(
        id=r["id"], user=r["user_name"], scopes=tuple(r["scopes"].split()), label=r["label"],
        created_at=r["created_at"], expires_at=r["expires_at"], revoked_at=r["revoked_at"],
    )  # fmt: skip

"""`kb users | groups | keys | grants`: identities and access, straight in the metadata store.

These work on the store itself (SQLite in the data folder, or KB_DATABASE_URL), not through
a server: whoever can run them can read the store anyway, and the first admin key has to come
from somewhere. A running server sees changes at its next request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import wraps
from pathlib import Path
from typing import Any, Literal

import click

from core.auth.directory import Directory
from core.auth.grants import Grants
from core.auth.principal import Level
from core.db.engine import Database, database_url
from core.db.migrate import upgrade
from core.errors import RagError
from serving.cli import data_dir_option, ingest_settings


@contextmanager
def _store(data_dir: Path | None) -> Iterator[Database]:
    settings = ingest_settings(data_dir)
    db = Database(database_url(settings.database_url, settings.data_dir))
    try:
        upgrade(db)
        yield db
    finally:
        db.close()


def _command(group: click.Group, name: str) -> Callable[[Callable[..., None]], click.Command]:
    """A subcommand with --data-dir whose errors print as one line."""

    def decorate(action: Callable[..., None]) -> click.Command:
        @wraps(action)
        def run(*args: Any, **kwargs: Any) -> None:
            try:
                action(*args, **kwargs)
            except RagError as exc:
                raise click.ClickException(exc.message) from exc

        return group.command(name)(data_dir_option(run))

    return decorate


@click.group()
def users() -> None:
    """Users: names that keys belong to (or OIDC subjects)."""


@_command(users, "add")
@click.argument("name")
@click.option("--admin", is_flag=True, help="May manage keys, users, groups and the model alias.")
def users_add(name: str, admin: bool, data_dir: Path | None) -> None:
    """Add a user."""
    with _store(data_dir) as db:
        Directory(db).add_user(name, is_admin=admin)
    click.echo(f"user {name}{' (admin)' if admin else ''} added")


@_command(users, "list")
def users_list(data_dir: Path | None) -> None:
    """List users."""
    with _store(data_dir) as db:
        for name, admin, created in Directory(db).users():
            click.echo(f"{name}\t{'admin' if admin else '-'}\t{created}")


@_command(users, "remove")
@click.argument("name")
def users_remove(name: str, data_dir: Path | None) -> None:
    """Remove a user with its keys, memberships and grants."""
    with _store(data_dir) as db:
        Directory(db).delete_user(name)
    click.echo(f"user {name} removed")


@click.group()
def groups() -> None:
    """Groups of users; a grant to a group applies to each member."""


@_command(groups, "add")
@click.argument("name")
def groups_add(name: str, data_dir: Path | None) -> None:
    """Add a group."""
    with _store(data_dir) as db:
        Directory(db).add_group(name)
    click.echo(f"group {name} added")


@_command(groups, "member")
@click.argument("group")
@click.argument("user")
@click.option("--remove", is_flag=True, help="Take the user out instead.")
def groups_member(group: str, user: str, remove: bool, data_dir: Path | None) -> None:
    """Put USER in GROUP (or take them out)."""
    with _store(data_dir) as db:
        directory = Directory(db)
        (directory.remove_member if remove else directory.add_member)(group, user)
    click.echo(f"{user} {'removed from' if remove else 'added to'} {group}")


@_command(groups, "list")
def groups_list(data_dir: Path | None) -> None:
    """List groups and their members."""
    with _store(data_dir) as db:
        for name, members in Directory(db).groups().items():
            click.echo(f"{name}\t{' '.join(members)}")


@click.group()
def keys() -> None:
    """API keys: `Authorization: Bearer <key>` (the OpenAI SDK's api_key)."""


@_command(keys, "create")
@click.option("--user", required=True, help="The key's user (added if missing).")
@click.option(
    "--scope", "scopes", multiple=True, required=True,
    type=click.Choice(["read", "ingest", "admin"]), help="Repeatable.",
)  # fmt: skip
@click.option("--admin", is_flag=True, help="Make the user an admin (for the admin scope).")
@click.option("--expires-days", type=click.IntRange(1), default=None, help="Default: never.")
@click.option("--label", default="", help="A note on what the key is for.")
def keys_create(
    user: str, scopes: tuple[str, ...], admin: bool, expires_days: int | None, label: str,
    data_dir: Path | None,
) -> None:  # fmt: skip
    """Create a key; it is printed this once and never stored."""
    expires = None
    if expires_days:
        expires = (datetime.now(UTC) + timedelta(days=expires_days)).isoformat(timespec="seconds")
    with _store(data_dir) as db:
        directory = Directory(db)
        directory.ensure_user(user)
        if admin:
            directory.set_admin(user, True)
        new = directory.create_key(user, scopes, expires_at=expires, label=label)
    click.echo(f"key {new.id} for {user} ({' '.join(sorted(scopes))}); shown only now:", err=True)
    click.echo(new.token)


@_command(keys, "list")
@click.option("--user", default=None)
def keys_list(user: str | None, data_dir: Path | None) -> None:
    """List keys (never their secrets)."""
    with _store(data_dir) as db:
        for k in Directory(db).keys(user):
            state = f"revoked {k.revoked_at}" if k.revoked_at else f"expires {k.expires_at or '-'}"
            click.echo(f"{k.id}\t{k.user}\t{' '.join(k.scopes)}\t{state}\t{k.label}")


@_command(keys, "revoke")
@click.argument("key_id")
def keys_revoke(key_id: str, data_dir: Path | None) -> None:
    """Revoke a key at once."""
    with _store(data_dir) as db:
        Directory(db).revoke_key(key_id)
    click.echo(f"key {key_id} revoked")


@click.group()
def grants() -> None:
    """Per-knowledge-base grants: read < write < manage."""


def _subject(user: str | None, group: str | None) -> tuple[Literal["user", "group"], str]:
    if bool(user) == bool(group):
        raise click.UsageError("give exactly one of --user and --group")
    return ("user", user) if user else ("group", group or "")


@_command(grants, "set")
@click.argument("kb")
@click.option("--user", default=None)
@click.option("--group", default=None)
@click.option("--level", required=True, type=click.Choice(["read", "write", "manage"]))
def grants_set(
    kb: str, user: str | None, group: str | None, level: str, data_dir: Path | None
) -> None:
    """Grant a user or group LEVEL on KB (replacing what they had)."""
    kind, subject = _subject(user, group)
    with _store(data_dir) as db:
        Grants(db).set(kb, kind, subject, Level.parse(level))
    click.echo(f"{kind} {subject} may {level} {kb}")


@_command(grants, "remove")
@click.argument("kb")
@click.option("--user", default=None)
@click.option("--group", default=None)
def grants_remove(kb: str, user: str | None, group: str | None, data_dir: Path | None) -> None:
    """Take a grant on KB away."""
    kind, subject = _subject(user, group)
    with _store(data_dir) as db:
        Grants(db).remove(kb, kind, subject)
    click.echo(f"{kind} {subject} no longer granted on {kb}")


@_command(grants, "list")
@click.argument("kb")
def grants_list(kb: str, data_dir: Path | None) -> None:
    """Who may do what on KB."""
    with _store(data_dir) as db:
        for g in Grants(db).of_kb(kb):
            click.echo(f"{g.subject_kind}\t{g.subject}\t{g.level.label}")

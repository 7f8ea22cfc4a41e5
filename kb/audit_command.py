"""`kb audit verify|search|export|prune`: the audit log of the configured metadata store.

They open the metadata store directly (SQLite in the data folder, or KB_DATABASE_URL), so they
work with or without a running server; SQLite's WAL lets them read beside it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from core.audit import AuditLog, AuditQuery, verify
from core.db.engine import Database, database_url
from core.db.migrate import upgrade
from serving.cli import data_dir_option, ingest_settings
from serving.settings import ServingSettings


@contextmanager
def opened(data_dir: Path | None) -> Iterator[AuditLog]:
    """The audit log of the store the settings name, migrated to the current schema."""
    settings = ingest_settings(data_dir)
    db = Database(database_url(settings.database_url, settings.data_dir))
    try:
        upgrade(db)
        yield AuditLog(db, ServingSettings().audit)
    finally:
        db.close()


F = TypeVar("F", bound=Callable[..., Any])


def query_options(command: F) -> F:
    """The filters `search` and `export` share."""
    for option in reversed([
        click.option("--user", help="User, API key id or token subject."),
        click.option("--kb", help="Knowledge base."),
        click.option("--document", help="Document id (retrieved, cited or acted on)."),
        click.option("--since", help="From this ISO 8601 time (UTC), inclusive."),
        click.option("--until", help="Before this ISO 8601 time (UTC)."),
        click.option("--kind", type=click.Choice(["request", "admin", "checkpoint", "pruned"])),
    ]):  # fmt: skip
        command = option(command)
    return command


@click.group("audit")
def audit_command() -> None:
    """The tamper-evident audit log: verify, search, export, prune."""


@audit_command.command("verify")
@data_dir_option
def verify_command(data_dir: Path | None) -> None:
    """Check the hash chain; exit 1 and say where when it is broken."""
    console = Console()
    with opened(data_dir) as log:
        report = verify(log.db)
    span = f"#{report.first_seq}..#{report.last_seq}" if report.records else "none"
    if report.ok:
        console.print(f"audit log intact: {report.records} records ({span})")
        return
    for problem in report.problems:
        console.print(f"[bold red]record #{problem.seq}[/] {problem.kind}: {problem.message}")
    console.print(
        f"audit log BROKEN: {len(report.problems)} problem(s) in {report.records} records"
    )
    sys.exit(1)


@audit_command.command("search")
@query_options
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000))
@data_dir_option
def search_command(data_dir: Path | None, limit: int, **filters: str | None) -> None:
    """Records matching the filters, oldest first."""
    with opened(data_dir) as log:
        records = log.search(AuditQuery(limit=limit, **filters))
    table = Table("#", "at", "kind", "who", "route", "kbs", "outcome", "cited")
    for r in records:
        who = r.actor_user or r.actor_subject or r.actor_key or r.client or "-"
        table.add_row(
            str(r.seq), r.at, r.kind, who, f"{r.method} {r.route}", ",".join(r.kbs),
            f"{r.outcome} {r.status or ''}".strip(), ",".join(r.cited),
        )  # fmt: skip
    Console(width=200).print(table)


@audit_command.command("export")
@query_options
@click.option("--output", "-o", type=click.File("w"), default="-", help="File (default stdout).")
@data_dir_option
def export_command(data_dir: Path | None, output: IO[str], **filters: str | None) -> None:
    """Matching records as JSON lines, oldest first."""
    with opened(data_dir) as log:
        for line in log.export(AuditQuery(**filters)):
            output.write(line)


@audit_command.command("prune")
@click.option("--before", help="Delete records before this ISO 8601 time (default: retention).")
@data_dir_option
def prune_command(data_dir: Path | None, before: str | None) -> None:
    """Delete records older than the retention (KB_AUDIT__RETENTION_DAYS); the chain stays valid."""
    with opened(data_dir) as log:
        gone = log.prune(before=before)
    click.echo(f"pruned {gone} audit records")

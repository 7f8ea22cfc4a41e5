"""The `kb` command line: serve the API, ingest files, ask questions."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import click
from rich.console import Console

from core.errors import RagError
from core.privacy import install_log_masking
from finetune.cli import cli as finetune_cli
from ingest.cli import worker
from ingest.outcome import Outcome
from kb.access_command import grants, groups, keys, users
from kb.ask_command import ask_command
from kb.audit_command import audit_command
from kb.eval_command import eval_command
from kb.ingest_command import collect, run_ingest
from kb.progress import summary
from kb.search_command import search_command
from search_proxy.cli import cli as search_proxy_cli
from serving.cli import data_dir_option, ingest_settings, serve


@click.group()
@click.option("--log-level", default="WARNING", show_default=True, help="Python logging level.")
def cli(log_level: str) -> None:
    """kb: a private knowledge assistant."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    install_log_masking()  # personal data never reaches a log line


class _FilesUnlessNamed(click.Group):
    """`kb ingest PATHS... --kb K` ingests files; `kb ingest worker` runs an ingest worker."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] != "--help"):
            args = ["files", *args]
        return super().parse_args(ctx, args)


@cli.group(cls=_FilesUnlessNamed)
def ingest() -> None:
    """Ingest files (`kb ingest PATHS --kb K`), or run a worker (`kb ingest worker`)."""


@ingest.command("files")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--kb", "kb_name", required=True, help="Knowledge base (created if missing).")
@data_dir_option
def ingest_files(paths: tuple[Path, ...], kb_name: str, data_dir: Path | None) -> None:
    """Parse, chunk, embed and store files and folders (recursively) into a knowledge base."""
    console = Console(stderr=False)
    files, missing = collect(paths)
    try:
        results = missing + asyncio.run(
            run_ingest(ingest_settings(data_dir), kb_name, files, console)
        )
    except RagError as exc:
        console.print(f"[bold red]error:[/] {exc.message}")
        sys.exit(2)
    summary(console, results)
    if any(result.outcome is Outcome.FAILED for result in results):
        sys.exit(1)


ingest.add_command(worker)
cli.add_command(serve)
cli.add_command(ask_command)
cli.add_command(search_command)
cli.add_command(search_proxy_cli)
cli.add_command(eval_command)
cli.add_command(finetune_cli)
for access in (users, groups, keys, grants):
    cli.add_command(access)
cli.add_command(audit_command)

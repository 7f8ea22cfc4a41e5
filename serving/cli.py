"""The `kb` command line: serve the API, ingest files, ask questions."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import click
import uvicorn
from rich.console import Console

from core.errors import RagError
from finetune.cli import cli as finetune_cli
from ingest.outcome import Outcome
from ingest.settings import IngestSettings
from search_proxy.cli import cli as search_proxy_cli
from search_proxy.settings import SearchProxySettings
from serving.app import create_app
from serving.ask_command import ask_command
from serving.eval_command import eval_command
from serving.ingest_command import collect, run_ingest
from serving.progress import summary
from serving.search_command import search_command
from serving.settings import ServingSettings

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The data folder (default: $KB_DATA_DIR or ~/.local/share/kb).",
)


def _ingest_settings(data_dir: Path | None) -> IngestSettings:
    return IngestSettings(data_dir=data_dir) if data_dir else IngestSettings()


@click.group()
@click.option("--log-level", default="WARNING", show_default=True, help="Python logging level.")
def cli(log_level: str) -> None:
    """kb: a private knowledge assistant."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )


@cli.command()
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8000).")
@data_dir_option
def serve(host: str | None, port: int | None, data_dir: Path | None) -> None:
    """Serve the API in embedded mode (docs at /docs, health at /healthz)."""
    overrides = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    settings = ServingSettings(**overrides)  # type: ignore[arg-type]
    ingest = _ingest_settings(data_dir)
    click.echo(
        f"kb serving {ingest.data_dir} at {settings.local_url} (docs: {settings.local_url}/docs)"
    )
    # log_config=None keeps our logging configuration instead of uvicorn's.
    app = create_app(settings, ingest, search=SearchProxySettings())
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--kb", "kb_name", required=True, help="Knowledge base (created if missing).")
@data_dir_option
def ingest(paths: tuple[Path, ...], kb_name: str, data_dir: Path | None) -> None:
    """Parse, chunk, embed and store files and folders (recursively) into a knowledge base."""
    console = Console(stderr=False)
    files, missing = collect(paths)
    try:
        results = missing + asyncio.run(
            run_ingest(_ingest_settings(data_dir), kb_name, files, console)
        )
    except RagError as exc:
        console.print(f"[bold red]error:[/] {exc.message}")
        sys.exit(2)
    summary(console, results)
    if any(result.outcome is Outcome.FAILED for result in results):
        sys.exit(1)


cli.add_command(ask_command)
cli.add_command(search_command)
cli.add_command(search_proxy_cli)
cli.add_command(eval_command)
cli.add_command(finetune_cli)

"""`python -m serving serve` (and `kb serve`): the public API under uvicorn."""

from __future__ import annotations

import logging
from pathlib import Path

import click
import uvicorn

from core.auth.authenticator import check_bind
from core.errors import ConfigurationError
from core.observability.logs import cli_log_level, configure_logging
from core.privacy import install_log_masking
from ingest.settings import IngestSettings
from search_proxy.settings import SearchProxySettings
from serving.app import create_app
from serving.settings import ServingSettings

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The data folder (default: $KB_DATA_DIR or ~/.local/share/kb).",
)


def ingest_settings(data_dir: Path | None) -> IngestSettings:
    """Ingest settings from the environment, with the data folder a command line gave."""
    return IngestSettings(data_dir=data_dir) if data_dir else IngestSettings()


@click.command()
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8000).")
@data_dir_option
def serve(host: str | None, port: int | None, data_dir: Path | None) -> None:
    """Serve the API (docs at /docs, health at /healthz)."""
    overrides = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    settings = ServingSettings(**overrides)  # type: ignore[arg-type]
    try:
        check_bind(settings.auth, settings.host)
    except ConfigurationError as exc:
        raise click.ClickException(exc.message) from exc
    configure_logging(settings.log, cli_log_level())
    ingest = ingest_settings(data_dir)
    click.echo(
        f"kb serving {ingest.data_dir} at {settings.local_url} (docs: {settings.local_url}/docs)"
    )
    # log_config=None keeps our logging configuration instead of uvicorn's.
    app = create_app(settings, ingest, search=SearchProxySettings())
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None)


@click.group()
@click.option("--log-level", default="INFO", show_default=True, help="Python logging level.")
def cli(log_level: str) -> None:
    """The answer service."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    install_log_masking()  # personal data never reaches a log line


cli.add_command(serve)

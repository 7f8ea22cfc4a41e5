"""`python -m ingest serve`: the ingest service on its own (its container in docker-compose)."""

from __future__ import annotations

import logging

import click
import uvicorn

from ingest.app import create_app
from ingest.settings import IngestSettings


@click.group()
def cli() -> None:
    """The ingest service."""


@cli.command()
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--port", default=8001, show_default=True, type=int)
@click.option("--log-level", default="INFO", show_default=True)
def serve(host: str, port: int, log_level: str) -> None:
    """Serve the knowledge-base, document and job API."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    settings = IngestSettings()
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    # log_config=None keeps our logging configuration instead of uvicorn's.
    uvicorn.run(create_app(settings, server_url=url), host=host, port=port, log_config=None)


if __name__ == "__main__":
    cli()

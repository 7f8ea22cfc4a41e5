"""`python -m ingest serve | worker` (and `kb ingest worker`): the ingest service's processes."""

from __future__ import annotations

import asyncio
import logging
import signal

import click
import uvicorn

from core.auth.settings import AuthEnvironment
from core.observability.http import serve_metrics
from core.observability.logs import cli_log_level, configure_logging
from core.privacy import install_log_masking
from ingest.app import create_app, watch_backlog
from ingest.runtime import IngestRuntime
from ingest.settings import IngestSettings

logger = logging.getLogger(__name__)


@click.group()
@click.option("--log-level", default="INFO", show_default=True, help="Python logging level.")
def cli(log_level: str) -> None:
    """The ingest service."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    install_log_masking()  # personal data never reaches a log line


@cli.command()
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--port", default=8001, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Serve the knowledge-base, document and job API."""
    settings = IngestSettings()
    configure_logging(settings.log, cli_log_level())
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    # log_config=None keeps our logging configuration instead of uvicorn's.
    app = create_app(settings, server_url=url, auth=AuthEnvironment().auth)
    uvicorn.run(app, host=host, port=port, log_config=None)


@cli.command()
def worker() -> None:
    """Claim queued jobs from the shared store and ingest them, until SIGTERM or Ctrl-C."""
    settings = IngestSettings()
    configure_logging(settings.log, cli_log_level())
    asyncio.run(run_worker(settings))


async def run_worker(settings: IngestSettings) -> None:
    """One worker until stopped; a stop between files or mid-file leaves the job to others."""
    main = asyncio.current_task()
    assert main is not None
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, main.cancel)
    runtime = await IngestRuntime.open(settings)
    watch_backlog(runtime)
    port = settings.worker.metrics_port
    served = bool(port) and serve_metrics(port)
    logger.info(
        "ingest worker %s ready (metrics on port %s)", runtime.worker.name, port if served else "-"
    )
    try:
        await runtime.worker.run()
    except asyncio.CancelledError:
        logger.info("ingest worker %s stopping", runtime.worker.name)
    finally:
        await runtime.close()

"""`python -m ingest serve | worker` (and `kb ingest worker`): the ingest service's processes."""

from __future__ import annotations

import asyncio
import logging
import signal

import click
import uvicorn

from core.auth.settings import AuthEnvironment
from ingest.app import create_app
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


@cli.command()
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--port", default=8001, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Serve the knowledge-base, document and job API."""
    settings = IngestSettings()
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    # log_config=None keeps our logging configuration instead of uvicorn's.
    app = create_app(settings, server_url=url, auth=AuthEnvironment().auth)
    uvicorn.run(app, host=host, port=port, log_config=None)


@cli.command()
def worker() -> None:
    """Claim queued jobs from the shared store and ingest them, until SIGTERM or Ctrl-C."""
    asyncio.run(run_worker(IngestSettings()))


async def run_worker(settings: IngestSettings) -> None:
    """One worker until stopped; a stop between files or mid-file leaves the job to others."""
    main = asyncio.current_task()
    assert main is not None
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, main.cancel)
    runtime = await IngestRuntime.open(settings)
    logger.info("ingest worker %s ready", runtime.worker.name)
    try:
        await runtime.worker.run()
    except asyncio.CancelledError:
        logger.info("ingest worker %s stopping", runtime.worker.name)
    finally:
        await runtime.close()

"""The `kb` command line: serve the API, ingest files, ask questions."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import click
import httpx
import uvicorn
from rich.console import Console

from core.errors import DataFolderBusy, InvalidRequest, NotFound, RagError
from ingest.outcome import Outcome
from ingest.runtime import IngestRuntime
from ingest.settings import IngestSettings
from serving.app import build_chat, build_retriever, create_app
from serving.chat.protocol import ChatCompletion, ChatCompletionRequest, ChatMessage
from serving.chat.routes import completion
from serving.ingest_command import collect, run_ingest
from serving.progress import summary
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
    uvicorn.run(
        create_app(settings, ingest), host=settings.host, port=settings.port, log_config=None
    )


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


@cli.command()
@click.argument("question")
@click.option("--kb", "kbs", required=True, multiple=True, help="Knowledge base (repeatable).")
@data_dir_option
def ask(question: str, kbs: tuple[str, ...], data_dir: Path | None) -> None:
    """Answer QUESTION from knowledge bases, citing its sources by title and page."""
    request = ChatCompletionRequest(
        model="kb/" + "+".join(kbs), messages=[ChatMessage(role="user", content=question)]
    )
    try:
        answer = asyncio.run(_ask(ServingSettings(), _ingest_settings(data_dir), request))
    except RagError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)
    click.echo(answer.choices[0].message.content)
    if answer.citations:
        click.echo("\nSources:")
    for c in answer.citations:
        click.echo(f"  [{c.number}] {c.title or c.source}, page {c.page} ({c.source})")
    for warning in answer.warnings:
        click.echo(f"note: {warning}", err=True)


async def _ask(
    settings: ServingSettings, ingest: IngestSettings, request: ChatCompletionRequest
) -> ChatCompletion:
    """Answer in this process, or through the server that owns the data folder."""
    try:
        runtime = await IngestRuntime.open(ingest)
    except DataFolderBusy as busy:
        if busy.server_url is None:
            raise
        return await _ask_remote(busy.server_url, request, settings.upstream_timeout_s)
    try:
        service = build_chat(runtime, build_retriever(runtime, settings), settings)
        try:
            return await completion(service, await service.prepare(request))
        finally:
            await service.aclose()
    finally:
        await runtime.close()


async def _ask_remote(url: str, request: ChatCompletionRequest, timeout_s: float) -> ChatCompletion:
    async with httpx.AsyncClient(base_url=url, timeout=timeout_s) as http:
        body = request.model_dump(mode="json", exclude_none=True)
        response = await http.post("/v1/chat/completions", json=body)
    if response.is_success:
        return ChatCompletion.model_validate(response.json())
    try:
        message = str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        message = f"the server at {url} answered {response.status_code}"
    kind = {400: InvalidRequest, 404: NotFound}.get(response.status_code, RagError)
    raise kind(message)

"""`kb ask`: answer a question from knowledge bases and list the sources it cites."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click
import httpx

from core.errors import InvalidRequest, NotFound, RagError
from ingest.runtime import IngestRuntime
from ingest.settings import IngestSettings
from kb.local_or_remote import local_or_remote, server_headers
from search_proxy.settings import SearchProxySettings
from serving.app import build_chat, build_retriever
from serving.chat.protocol import ChatCompletion, ChatCompletionRequest, ChatMessage, WebCitation
from serving.chat.routes import completion
from serving.settings import ServingSettings
from serving.web_search import open_web_search


@click.command("ask")
@click.argument("question")
@click.option("--kb", "kbs", required=True, multiple=True, help="Knowledge base (repeatable).")
@click.option("--web", is_flag=True, help="Also search the web through the search proxy.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The data folder (default: $KB_DATA_DIR or ~/.local/share/kb).")  # fmt: skip
def ask_command(question: str, kbs: tuple[str, ...], web: bool, data_dir: Path | None) -> None:
    """Answer QUESTION from knowledge bases, citing its sources by title and page (or URL)."""
    request = ChatCompletionRequest(
        model="kb/" + "+".join(kbs),
        messages=[ChatMessage(role="user", content=question)],
        web_search=web,
    )
    ingest = IngestSettings(data_dir=data_dir) if data_dir else IngestSettings()
    try:
        answer = asyncio.run(ask(ServingSettings(), ingest, request))
    except RagError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)
    click.echo(answer.choices[0].message.content)
    if answer.citations:
        click.echo("\nSources:")
    for c in answer.citations:
        if isinstance(c, WebCitation):
            click.echo(f"  [{c.number}] {c.title} ({c.url})")
        else:
            click.echo(f"  [{c.number}] {c.title or c.source}, page {c.page} ({c.source})")
    for warning in answer.warnings:
        click.echo(f"note: {warning}", err=True)


async def ask(
    settings: ServingSettings, ingest: IngestSettings, request: ChatCompletionRequest
) -> ChatCompletion:
    """Answer in this process, or through the server that owns the data folder."""

    async def local(runtime: IngestRuntime) -> ChatCompletion:
        async with open_web_search(settings.web, SearchProxySettings()) as web:
            service = build_chat(runtime, build_retriever(runtime, settings), settings, web)
            try:
                return await completion(service, await service.prepare(request))
            finally:
                await service.aclose()

    async def remote(url: str) -> ChatCompletion:
        async with httpx.AsyncClient(
            base_url=url, timeout=settings.upstream_timeout_s, headers=server_headers()
        ) as http:
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

    return await local_or_remote(ingest, local, remote)

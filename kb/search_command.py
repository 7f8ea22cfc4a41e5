"""`kb search`: ranked passages as a table, without generating an answer."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click
import httpx
from rich.console import Console
from rich.table import Table

from core.errors import RagError
from ingest.runtime import IngestRuntime
from ingest.settings import IngestSettings
from kb.local_or_remote import local_or_remote, server_headers
from retrieval.protocol import Hit, Mode, RetrieveRequest, RetrieveResponse
from serving.app import build_retriever
from serving.settings import ServingSettings


async def search(settings: IngestSettings, request: RetrieveRequest) -> list[Hit]:
    """Retrieve in this process, or through the server that owns the data folder."""

    async def local(runtime: IngestRuntime) -> list[Hit]:
        retriever = build_retriever(runtime, ServingSettings())
        return await retriever.retrieve(
            request.query, request.knowledge_bases, top_k=request.top_k, mode=request.mode
        )

    async def remote(url: str) -> list[Hit]:
        async with httpx.AsyncClient(base_url=url, timeout=60, headers=server_headers()) as http:
            response = await http.post("/v1/retrieve", json=request.model_dump(mode="json"))
        if not response.is_success:
            raise RagError(
                f"the server at {url} answered {response.status_code}: {response.text[:300]}"
            )
        return RetrieveResponse.model_validate(response.json()).data

    return await local_or_remote(settings, local, remote)


@click.command("search")
@click.argument("query")
@click.option("--kb", "kbs", required=True, multiple=True, help="Knowledge base (repeatable).")
@click.option("--top-k", default=8, show_default=True, type=click.IntRange(1, 100))
@click.option(
    "--mode", type=click.Choice([m.value for m in Mode]), default="hybrid", show_default=True
)
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The data folder (default: $KB_DATA_DIR or ~/.local/share/kb).")  # fmt: skip
def search_command(
    query: str, kbs: tuple[str, ...], top_k: int, mode: str, data_dir: Path | None
) -> None:
    """Show the passages that best match QUERY: score, document, page, text."""
    console = Console()
    settings = IngestSettings(data_dir=data_dir) if data_dir else IngestSettings()
    try:
        request = RetrieveRequest(
            query=query, knowledge_bases=list(kbs), top_k=top_k, mode=Mode(mode)
        )
        hits = asyncio.run(search(settings, request))
    except RagError as exc:
        console.print(f"[bold red]error:[/] {exc.message}")
        sys.exit(2)
    table = Table(title=f"{query!r} in {', '.join(kbs)} ({mode})")
    for column in ("#", "score", "document", "page", "passage"):
        table.add_column(column, justify="right" if column in ("#", "score", "page") else "left")
    for rank, hit in enumerate(hits, 1):
        passage = " ".join(hit.text.split())
        table.add_row(
            str(rank), f"{hit.score:.3f}", f"{hit.title}\n[dim]{hit.source}[/]", str(hit.page),
            passage[:200] + ("…" if len(passage) > 200 else ""),
        )  # fmt: skip
    console.print(table)

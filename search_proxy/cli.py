"""`python -m search_proxy` and `kb search-proxy`: serve the proxy, or search from a terminal."""

from __future__ import annotations

import asyncio
import sys

import click
import uvicorn
from rich.console import Console
from rich.table import Table

from core.errors import RagError
from core.observability.logs import cli_log_level, configure_logging
from search_proxy.app import create_app, open_service
from search_proxy.client import SearchClient
from search_proxy.protocol import SearchRequest, SearchResponse
from search_proxy.settings import SearchProxySettings


@click.group("search-proxy")
def cli() -> None:
    """The web-search proxy: several engines at once, merged, deduplicated, filtered."""


@cli.command()
@click.option("--host", default=None, help="Interface (default $KB_SEARCH_HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default $KB_SEARCH_PORT or 8100).")
@click.option(
    "--log-level", default="INFO", show_default=True, help="Wins over KB_SEARCH_LOG__LEVEL."
)
def serve(host: str | None, port: int | None, log_level: str) -> None:
    """Serve POST /v1/search (docs at /docs)."""
    del log_level  # read by cli_log_level(): only a level given here beats the settings'
    overrides = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    settings = SearchProxySettings(**overrides)  # type: ignore[arg-type]
    configure_logging(settings.log, cli_log_level())
    # log_config=None keeps our logging configuration instead of uvicorn's.
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None)


@cli.command()
@click.argument("query")
@click.option("--url", default=None, help="A running proxy; default: search in this process.")
@click.option("--engine", "engines", multiple=True, help="Only this engine (repeatable).")
@click.option("--max-results", default=10, show_default=True, type=click.IntRange(1, 50))
@click.option("--fetch", is_flag=True, help="Also fetch the top results' pages.")
def search(
    query: str, url: str | None, engines: tuple[str, ...], max_results: int, fetch: bool
) -> None:
    """Search the web through the proxy and show the merged results."""
    console = Console()
    try:
        request = SearchRequest(
            query=query,
            engines=list(engines) or None,
            max_results=max_results,
            fetch_pages=fetch or None,
        )
        response = asyncio.run(_search(request, url))
    except RagError as exc:
        console.print(f"[bold red]error:[/] {exc.message}")
        sys.exit(2)
    _show(console, response)


async def _search(request: SearchRequest, url: str | None) -> SearchResponse:
    settings = SearchProxySettings()
    if url is None:
        async with open_service(settings) as service:
            return await service.search(request)
    client = SearchClient(url, timeout_s=settings.deadline_s)
    try:
        return await client.search(request)
    finally:
        await client.aclose()


def _show(console: Console, response: SearchResponse) -> None:
    if response.blocked:
        console.print("[yellow]the query was blocked by the sensitive-word filter[/]")
        return
    table = Table("#", "score", "engines", "title / url / snippet")
    for number, result in enumerate(response.results, 1):
        found = ", ".join(f"{e}#{result.ranks[e]}" for e in result.engines)
        text = f"[bold]{result.title}[/]\n[blue]{result.url}[/]\n{result.snippet}"
        table.add_row(str(number), f"{result.score:.3f}", found, text)
    console.print(table)
    for failure in response.failed:
        console.print(f"[yellow]{failure.engine}[/] {failure.reason}: {failure.message}")
    console.print(f"{len(response.results)} results in {response.elapsed_ms:.0f} ms")

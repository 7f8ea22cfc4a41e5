"""What an answer can cite: retrieved passages first, then web results, numbered together."""

from __future__ import annotations

from retrieval.protocol import Hit
from search_proxy.protocol import SearchResult

Source = Hit | SearchResult


def source_text(source: Source, *, with_context: bool = True) -> str:
    """The text the answer may use: a passage (with its neighbours), or a page or snippet."""
    if isinstance(source, Hit):
        return (source.context if with_context else None) or source.text
    return source.page_text or source.snippet


def source_label(source: Source) -> str:
    """How the prompt introduces a source: `title, page p` or `title (web: url)`."""
    if isinstance(source, Hit):
        return f"{source.title or source.source}, page {source.page}"
    return f"{source.title} (web: {source.url})"

"""What an answer can cite: retrieved passages first, then web results, numbered together."""

from __future__ import annotations

from collections.abc import Sequence

from core.llm.prompts import PromptSource, document_label, web_label
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
        return document_label(source.title or source.source, source.page)
    return web_label(source.title, source.url)


def prompt_sources(sources: Sequence[Source]) -> list[PromptSource]:
    """The sources as the prompt numbers them."""
    return [PromptSource(source_label(s), source_text(s)) for s in sources]

"""`SearchService`: filter the query, fan out, merge, filter the results, fetch pages if asked."""

from __future__ import annotations

import time

from core.errors import InvalidRequest, RagError
from search_proxy.fanout import FanOut
from search_proxy.fetch.fetcher import PageFetcher
from search_proxy.merge import merge
from search_proxy.protocol import SearchRequest, SearchResponse, SearchResult
from search_proxy.sensitive.policy import FilterPolicy
from search_proxy.settings import SearchProxySettings


class SearchService:
    """One search from request to response; owns no connections (the app closes them)."""

    def __init__(
        self,
        settings: SearchProxySettings,
        *,
        fanout: FanOut,
        policy: FilterPolicy,
        fetcher: PageFetcher,
    ) -> None:
        self._settings, self._fanout, self._policy, self._fetcher = (
            settings,
            fanout,
            policy,
            fetcher,
        )

    @property
    def engines(self) -> list[str]:
        """The enabled engines."""
        return self._fanout.names

    @property
    def filter_counts(self) -> dict[str, int]:
        """Every sensitive-filter decision so far, by stage, action and category."""
        return self._policy.counts()

    async def search(self, request: SearchRequest) -> SearchResponse:
        """Merged, filtered results; engines that failed are listed, never raised."""
        started = time.perf_counter()
        names = self._choose(request.engines)
        decision = self._policy.check_query(request.query)
        if decision.blocked:  # nothing leaves this process
            return SearchResponse(query="", results=[], blocked=True, elapsed_ms=_ms(started))
        deadline = request.timeout_s or self._settings.deadline_s
        gathered = await self._fanout.gather(decision.query, names, request.max_results, deadline)
        merged = merge(gathered.hits, self._fanout.weights(), limit=request.max_results)
        results = self._screen(merged)
        fetch = self._settings.fetch.enabled if request.fetch_pages is None else request.fetch_pages
        if fetch:
            await self._fetch_pages(results[: self._settings.fetch.top_n])
        return SearchResponse(
            query=decision.query,
            results=results,
            failed=gathered.failed,
            filtered_results=len(merged) - len(results),
            elapsed_ms=_ms(started),
        )

    def _choose(self, asked: list[str] | None) -> list[str]:
        if asked is None:
            return self._fanout.names
        if unknown := [name for name in asked if name not in self._fanout.names]:
            enabled = ", ".join(self._fanout.names) or "none"
            raise InvalidRequest(
                f"unknown or disabled engine(s): {', '.join(unknown)}; enabled: {enabled}",
                param="engines",
            )
        return list(dict.fromkeys(asked))

    def _screen(self, results: list[SearchResult]) -> list[SearchResult]:
        kept: list[SearchResult] = []
        for result in results:
            decision = self._policy.check_result(result.title, result.snippet)
            if not decision.dropped:
                kept.append(
                    result.model_copy(update={"title": decision.title, "snippet": decision.snippet})
                )
        return kept

    async def _fetch_pages(self, results: list[SearchResult]) -> None:
        pages = await self._fetcher.fetch_many([result.url for result in results])
        for result, page in zip(results, pages, strict=True):
            if isinstance(page, RagError):
                continue  # the snippet still stands; the fetcher logged why
            decision = self._policy.check_result(result.title, page.text)
            if not decision.dropped:
                result.page_text = decision.snippet


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)

"""`FilterPolicy`: the configured actions on queries and results, counted and logged.

Logs and counters carry the stage, the action, the categories and the number of matches, never
the query, a title, a snippet or a listed word.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from core.observability.metrics import SENSITIVE_HITS
from search_proxy.sensitive.matcher import Match, SensitiveFilter
from search_proxy.settings import FilterSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class QueryDecision:
    """What may go out. When `blocked`, the query must not be sent to any engine."""

    query: str
    blocked: bool
    categories: list[str]


@dataclass(frozen=True, slots=True)
class ResultDecision:
    """What may come back: the title and snippet to show, or `dropped`."""

    title: str
    snippet: str
    dropped: bool
    categories: list[str]


def _categories(matches: Iterable[Match]) -> list[str]:
    return sorted({match.category for match in matches})


class FilterPolicy:
    """Applies `settings.query_action` to queries and `settings.result_action` to results."""

    def __init__(self, word_filter: SensitiveFilter, settings: FilterSettings) -> None:
        self._filter = word_filter
        self._settings = settings
        self._counts: Counter[str] = Counter()
        # Decisions may also be made from worker threads (e.g. run_in_executor).
        self._lock = threading.Lock()

    def check_query(self, query: str) -> QueryDecision:
        """Block the query, or strip the listed words from it, as configured.

        A query that stripping leaves without a letter or digit is blocked instead.
        """
        if self._settings.query_action == "strip":
            stripped, matches = self._filter.remove(query)
            blocked = bool(matches) and not any(char.isalnum() for char in stripped)
            action = "block" if blocked else "strip"
        else:
            stripped, matches = query, self._filter.find(query)
            blocked, action = bool(matches), "block"
        categories = _categories(matches)
        if not matches:
            self._record("query", "pass", categories, 0)
            return QueryDecision(query, False, categories)
        self._record("query", action, categories, len(matches))
        return QueryDecision(query if blocked else stripped, blocked, categories)

    def check_result(self, title: str, snippet: str) -> ResultDecision:
        """Mask the listed words in a result's title and snippet, or drop it, as configured."""
        char = self._settings.mask_char
        masked_title, title_matches = self._filter.mask(title, char)
        masked_snippet, snippet_matches = self._filter.mask(snippet, char)
        matches = title_matches + snippet_matches
        categories = _categories(matches)
        if not matches:
            self._record("result", "pass", categories, 0)
            return ResultDecision(title, snippet, False, categories)
        if self._settings.result_action == "drop":
            self._record("result", "drop", categories, len(matches))
            return ResultDecision(title, snippet, True, categories)
        self._record("result", "mask", categories, len(matches))
        return ResultDecision(masked_title, masked_snippet, False, categories)

    def counts(self) -> dict[str, int]:
        """Decisions so far: `<stage>.<action>` totals and `<stage>.<action>.<category>`.

        A decision with several categories counts once in its total and once per category.
        """
        with self._lock:
            return dict(self._counts)

    def _record(self, stage: str, action: str, categories: list[str], matches: int) -> None:
        with self._lock:
            self._counts[f"{stage}.{action}"] += 1
            for category in categories:
                self._counts[f"{stage}.{action}.{category}"] += 1
        if action != "pass":
            SENSITIVE_HITS.labels(stage, action).inc()
            logger.info(
                "sensitive words: stage=%s action=%s categories=%s matches=%d",
                stage,
                action,
                ",".join(categories),
                matches,
            )

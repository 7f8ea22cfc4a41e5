"""Merge several engines' hits into one ranked list.

Hits meet when their canonical URLs are equal or when their snippets and titles are near
duplicates (one article syndicated or mirrored at other URLs). Each merged result keeps every
engine that found it and is scored by weighted reciprocal rank.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise

from search_proxy.protocol import EngineHit, SearchResult
from search_proxy.urls import canonical_url, is_web_url

# Jaccard similarity of token-pair shingles that both the snippets and the titles must reach.
# Measured on 170-character snippets of SciFact abstracts and CMRC Chinese Wikipedia passages:
# one to three words changed scores 0.5-0.97, a cut to two thirds about 0.6; unrelated
# snippets score at most 0.17 in English and 0.28 (99.9th percentile) in Chinese, where
# templated stubs about different species reach 0.68 and only their titles tell them apart.
NEAR_DUPLICATE = 0.5
# Shingles are pairs of adjacent tokens. Snippets are a sentence or two: pairs of words keep
# English shingles rare, which keeps the prefix filter below selective (character trigrams are
# shared by nearly every snippet). Chinese, Japanese and Korean are tokenised by character.
_UNSPACED = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002fa1f"
_TOKEN = re.compile(f"[{_UNSPACED}]|[^\\s{_UNSPACED}]+")
_NON_WORD = re.compile(r"[\W_]+")
# Where a title's parts meet: "Article - Site", "Site | Section", "标题_新浪网".
_TITLE_SEPARATORS = re.compile("[-|_\u2013\u2014\u00b7\u2022\u00bb\uff5c]")
# Second-level labels under country domains that sites register below (bbc.co.uk, sina.com.cn);
# a rough stand-in for the public-suffix list, used only to tell whether two pages share a site.
_SECOND_LEVEL = frozenset({"ac", "co", "com", "edu", "gov", "net", "org"})


@dataclass(frozen=True)
class _Hit:
    engine: str
    weight: float
    url: str
    key: str
    title: str
    snippet: str
    rank: int
    published: datetime | None


def merge(
    hits_by_engine: Mapping[str, Sequence[EngineHit]],
    weights: Mapping[str, float],
    *,
    limit: int,
    near_duplicate: float = NEAR_DUPLICATE,
) -> list[SearchResult]:
    """Merge the engines' hits, best first.

    Args:
        hits_by_engine: Each engine's hits; the mapping's order, then each list's, is the
            "first seen" order that breaks ties.
        weights: Engine weights; an engine not listed weighs 1.0.
        limit: Return at most this many results.
        near_duplicate: Jaccard similarity (0-1] of title and snippet shingles from which
            two hits at different URLs are one result; above 1 turns this off.

    Returns:
        Results by score (sum of weight / best rank over the engines that found them), then
        best single rank, then first seen. Hits without an http(s) URL are left out.
    """
    if near_duplicate <= 0:
        raise ValueError(f"near_duplicate must be above 0, got {near_duplicate}")
    hits = [
        _Hit(
            engine=engine,
            weight=weights.get(engine, 1.0),
            url=hit.url.strip(),
            key=canonical_url(hit.url),
            title=" ".join(hit.title.split()),
            snippet=" ".join(hit.snippet.split()),
            rank=hit.rank,
            published=hit.published,
        )
        for engine, engine_hits in hits_by_engine.items()
        for hit in engine_hits
        if is_web_url(hit.url)
    ]
    groups = _UnionFind(len(hits))
    first_with_key: dict[str, int] = {}
    for i, hit in enumerate(hits):
        groups.union(first_with_key.setdefault(hit.key, i), i)
    for i, j in _near_duplicates(hits, near_duplicate):
        groups.union(i, j)
    members: dict[int, list[_Hit]] = defaultdict(list)
    for i, hit in enumerate(hits):  # a group first appears at its first-seen hit
        members[groups.find(i)].append(hit)
    results = [_fold(group) for group in members.values()]
    order = sorted(
        range(len(results)),
        key=lambda i: (-results[i].score, min(results[i].ranks.values()), i),
    )
    return [results[i] for i in order[: max(limit, 0)]]


def _fold(hits: list[_Hit]) -> SearchResult:
    """One result from hits in first-seen order, the way SearXNG merges duplicates."""
    shown, title, snippet, published = hits[0], hits[0].title, hits[0].snippet, None
    ranks: dict[str, int] = {}
    weights: dict[str, float] = {}
    for hit in hits:
        title = hit.title if len(hit.title) > len(title) else title
        snippet = hit.snippet if len(hit.snippet) > len(snippet) else snippet
        shown = hit if _preference(hit) > _preference(shown) else shown
        ranks[hit.engine] = min(hit.rank, ranks.get(hit.engine, hit.rank))
        weights[hit.engine] = hit.weight
        if hit.published is not None and (
            published is None or _instant(hit.published) < _instant(published)
        ):
            published = hit.published
    return SearchResult(
        url=shown.url,
        title=title,
        snippet=snippet,
        engines=list(ranks),
        ranks=ranks,
        score=sum(weights[engine] / rank for engine, rank in ranks.items()),
        published=published,
    )


def _preference(hit: _Hit) -> tuple[bool, float]:
    """Which hit's URL to show: https first, then the best-scoring engine's."""
    return hit.url[:6].lower() == "https:", hit.weight / hit.rank


def _instant(moment: datetime) -> datetime:
    # Engines mix naive and aware dates, which do not compare; naive ones are taken as UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _near_duplicates(hits: Sequence[_Hit], threshold: float) -> Iterator[tuple[int, int]]:
    """Every pair of hits whose snippets and titles both reach `threshold` similarity.

    Exact, yet without comparing every pair (prefix filtering, Bayardo et al., "Scaling up
    all pairs similarity search", 2007): with shingles ordered rarest first, two sets with
    Jaccard >= t share one of the first n - ceil(t*n) + 1 shingles of each (floor here: one
    more is safe, and immune to rounding). Rare shingles are shared by few hits, so few pairs
    are compared. A hit without snippet text never matches: a title alone ("Home", "Login")
    says too little.
    """
    if threshold > 1:
        return
    shingled = {text: _shingles(text) for text in dict.fromkeys(hit.snippet for hit in hits)}
    distinct: dict[tuple[str, str], int] = {}
    for i, hit in enumerate(hits):
        if shingled[hit.snippet]:
            first = distinct.setdefault((hit.title, hit.snippet), i)
            if first != i:  # the same text again, from another engine as a rule
                yield first, i
    rarity = Counter(shingle for _, snippet in distinct for shingle in shingled[snippet])
    by_rarity = sorted((count, shingle) for shingle, count in rarity.items())
    position = {shingle: k for k, (_, shingle) in enumerate(by_rarity)}
    seen_with: dict[str, list[int]] = defaultdict(list)
    for i in distinct.values():
        these = shingled[hits[i].snippet]
        prefix = sorted(these, key=position.__getitem__)
        del prefix[max(0, len(these) - math.floor(threshold * len(these)) + 1) :]
        for j in sorted({j for shingle in prefix for j in seen_with[shingle]}):
            if _similar(these, shingled[hits[j].snippet], threshold) and _titles_alike(
                hits[i], hits[j], threshold
            ):
                yield j, i
        for shingle in prefix:
            seen_with[shingle].append(i)


def _titles_alike(a: _Hit, b: _Hit, threshold: float) -> bool:
    """Whether two titles reach `threshold`; on one site, less the parts both titles share.

    Pages of one site share a title part, its name ("Pricing | Acme", "Docs | Acme"), and
    templated pages share most of their snippet too, so there only the other parts count.
    Across sites a shared part is the article itself ("Fed raises rates - Reuters").
    """
    if _site(a.key) != _site(b.key):
        return _similar(_shingles(a.title), _shingles(b.title), threshold)
    parts_a, parts_b = _title_parts(a.title), _title_parts(b.title)
    rest_a = " ".join(part for part in parts_a if part not in parts_b)
    rest_b = " ".join(part for part in parts_b if part not in parts_a)
    return _similar(_shingles(rest_a), _shingles(rest_b), threshold)


def _site(key: str) -> str:
    """The registrable domain, roughly: `news.bbc.co.uk` -> `bbc.co.uk`, `zh.wikipedia.org`."""
    labels = key.partition("/")[0].partition("?")[0].split(".")
    if len(labels) > 2 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def _title_parts(title: str) -> list[str]:
    return [" ".join(_tokens(part)) for part in _TITLE_SEPARATORS.split(title)]


def _similar(a: frozenset[str], b: frozenset[str], threshold: float) -> bool:
    # Sizes alone rule most pairs out: the Jaccard index is at most the smaller over the larger.
    if min(len(a), len(b)) < threshold * max(len(a), len(b)):
        return False
    return _jaccard(a, b) >= threshold


def _shingles(text: str) -> frozenset[str]:
    """Pairs of adjacent tokens (a lone token if that is all there is)."""
    tokens = _tokens(text)
    return frozenset(map(" ".join, pairwise(tokens)) if tokens[1:] else tokens)


def _tokens(text: str) -> list[str]:
    """Case-folded words, and single characters of scripts written without spaces."""
    return _TOKEN.findall(_NON_WORD.sub(" ", unicodedata.normalize("NFKC", text).casefold()))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    # retrieval.dedup has the same one-liner; the import rule keeps packages apart.
    return len(a & b) / len(a | b) if a or b else 1.0


class _UnionFind:
    def __init__(self, size: int) -> None:
        self._parent = list(range(size))

    def find(self, i: int) -> int:
        while self._parent[i] != i:
            self._parent[i] = self._parent[self._parent[i]]
            i = self._parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        # The earlier hit stays the root, so a group is known by its first-seen hit.
        a, b = sorted((self.find(i), self.find(j)))
        self._parent[b] = a

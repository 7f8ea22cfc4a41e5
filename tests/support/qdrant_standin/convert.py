"""Qdrant REST requests (parsed with qdrant-client's own models) turned into Qdrant Edge calls.

Edge is Qdrant's shard engine, so once a request is translated, filtering, scoring, fusion and
paging are Qdrant's own. Defaults follow Qdrant's OpenAPI description: query and prefetch
`limit` 10, query `with_payload` false, scroll `with_payload` true, RRF `k` 2
(`DEFAULT_RRF_K` in `lib/segment/src/common/reciprocal_rank_fusion.rs`). Anything valid in
Qdrant but not translated here is refused with 400 (`unsupported`), never silently ignored.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import qdrant_edge as qe
from qdrant_client.http import models as m

from tests.support.qdrant_standin.errors import unsupported, wrong_input

DEFAULT_LIMIT = 10
DEFAULT_RRF_K = 2

_MATCHES: dict[type, Callable[[Any], Any]] = {
    m.MatchValue: lambda x: qe.MatchValue(x.value),
    m.MatchAny: lambda x: qe.MatchAny(x.any),
    m.MatchExcept: lambda x: qe.MatchExcept(x.except_),
    m.MatchText: lambda x: qe.MatchText(x.text),
    m.MatchTextAny: lambda x: qe.MatchTextAny(x.text_any),
    m.MatchPhrase: lambda x: qe.MatchPhrase(x.phrase),
    m.MatchPrefix: lambda x: qe.MatchPrefix(x.prefix),
    m.MatchSubstring: lambda x: qe.MatchSubstring(x.substring),
}


def point_id(value: int | str | uuid.UUID) -> int | uuid.UUID:
    """Qdrant ids are unsigned integers or UUIDs (in any UUID spelling)."""
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, int):
        if value < 0:
            raise wrong_input(f"point id {value} is negative")
        return value
    try:
        return uuid.UUID(value)
    except ValueError:
        raise wrong_input(f"Unable to parse UUID: {value}") from None


def filter_(value: m.Filter | None) -> qe.Filter | None:
    return None if value is None else _filter(value)


def _filter(value: m.Filter) -> qe.Filter:
    min_should = None
    if value.min_should is not None:
        conditions = [_condition(c) for c in value.min_should.conditions]
        min_should = qe.MinShould(conditions, value.min_should.min_count)
    return qe.Filter(
        must=_conditions(value.must),
        should=_conditions(value.should),
        must_not=_conditions(value.must_not),
        min_should=min_should,
    )


def _conditions(value: Any) -> list[Any] | None:
    if value is None:
        return None
    return [_condition(c) for c in (value if isinstance(value, list) else [value])]


def _condition(c: m.Condition) -> Any:
    if isinstance(c, m.Filter):
        return _filter(c)
    if isinstance(c, m.FieldCondition):
        return _field(c)
    if isinstance(c, m.IsEmptyCondition):
        return qe.IsEmptyCondition(c.is_empty.key)
    if isinstance(c, m.IsNullCondition):
        return qe.IsNullCondition(c.is_null.key)
    if isinstance(c, m.HasIdCondition):
        return qe.HasIdCondition({point_id(i) for i in c.has_id})
    if isinstance(c, m.HasVectorCondition):
        return qe.HasVectorCondition(c.has_vector)
    if isinstance(c, m.NestedCondition):
        return qe.NestedCondition(c.nested.key, _filter(c.nested.filter))
    raise unsupported(type(c).__name__)


def _field(c: m.FieldCondition) -> Any:
    if c.geo_bounding_box or c.geo_radius or c.geo_polygon:
        raise unsupported("a geo condition")
    match = None
    if c.match is not None:
        match = _MATCHES[type(c.match)](c.match)
    limit: Any = None
    if isinstance(c.range, m.Range):
        limit = qe.RangeFloat(gte=c.range.gte, gt=c.range.gt, lte=c.range.lte, lt=c.range.lt)
    elif c.range is not None:
        bounds = {k: v.isoformat() for k, v in c.range.model_dump(exclude_none=True).items()}
        limit = qe.RangeDateTime(**bounds)
    count = None
    if c.values_count is not None:
        count = qe.ValuesCount(**c.values_count.model_dump(exclude_none=True))
    return qe.FieldCondition(
        c.key, match=match, range=limit, values_count=count, is_empty=c.is_empty, is_null=c.is_null
    )


def _with_payload(value: Any, default: bool) -> Any:
    if value is None:
        return default
    if isinstance(value, m.PayloadSelectorInclude):
        return qe.PayloadSelector.Include(value.include)
    if isinstance(value, m.PayloadSelectorExclude):
        return qe.PayloadSelector.Exclude(value.exclude)
    return value  # a bool or a list of keys, as Edge takes them


def count_request(body: m.CountRequest) -> qe.CountRequest:
    if body.shard_key is not None:
        raise unsupported("shard_key (custom sharding)")
    return qe.CountRequest(exact=body.exact is not False, filter=filter_(body.filter))


def scroll_request(body: m.ScrollRequest) -> qe.ScrollRequest:
    if body.order_by is not None or body.shard_key is not None:
        raise unsupported("order_by and shard_key")
    return qe.ScrollRequest(
        offset=None if body.offset is None else point_id(body.offset),
        limit=body.limit if body.limit is not None else DEFAULT_LIMIT,
        filter=filter_(body.filter),
        with_payload=_with_payload(body.with_payload, default=True),
        with_vector=body.with_vector if body.with_vector is not None else False,
    )


def query_request(body: m.QueryRequest) -> qe.QueryRequest:
    if body.lookup_from is not None or body.params is not None or body.shard_key is not None:
        raise unsupported("lookup_from, search params and shard_key")
    return qe.QueryRequest(
        limit=body.limit if body.limit is not None else DEFAULT_LIMIT,
        offset=body.offset,
        query=_scoring(body.query, body.using),
        prefetches=_prefetches(body.prefetch),
        with_vector=body.with_vector if body.with_vector is not None else False,
        with_payload=_with_payload(body.with_payload, default=False),
        filter=filter_(body.filter),
        score_threshold=body.score_threshold,
    )


def _prefetches(value: m.Prefetch | list[m.Prefetch] | None) -> list[qe.Prefetch] | None:
    if value is None:
        return None
    out = []
    for p in value if isinstance(value, list) else [value]:
        if p.lookup_from is not None or p.params is not None:
            raise unsupported("lookup_from and search params")
        out.append(
            qe.Prefetch(
                limit=p.limit if p.limit is not None else DEFAULT_LIMIT,
                query=_scoring(p.query, p.using),
                prefetches=_prefetches(p.prefetch),
                filter=filter_(p.filter),
                score_threshold=p.score_threshold,
            )
        )
    return out


def _scoring(query: Any, using: str | None) -> Any:
    """Nearest on one vector (raw or `{"nearest": ...}`), or fusion of the prefetches."""
    if query is None:
        return None
    if isinstance(query, m.NearestQuery):
        if query.mmr is not None:
            raise unsupported("mmr")
        query = query.nearest
    if isinstance(query, m.RrfQuery):
        k = query.rrf.k if query.rrf.k is not None else DEFAULT_RRF_K
        return qe.Fusion.Rrf(k=k, weights=query.rrf.weights)
    if isinstance(query, m.FusionQuery):
        if query.fusion == m.Fusion.RRF:
            return qe.Fusion.Rrf(k=DEFAULT_RRF_K)
        return qe.Fusion.Dbsf()
    if isinstance(query, m.SparseVector):
        return qe.Query.Nearest(qe.SparseVector(query.indices, query.values), using=using)
    if isinstance(query, list):
        return qe.Query.Nearest(query, using=using)
    raise unsupported(f"query {type(query).__name__}")

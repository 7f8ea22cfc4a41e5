"""Payload indexes: `PUT .../index` schemas into Edge, and Edge's index info back into REST.

The `payload_schema` of `GET /collections/{name}` is read from Edge itself, so a test that
sees `is_tenant: true` there knows Edge built a tenant index, not that we remembered a flag.
"""

from __future__ import annotations

from typing import Any

import qdrant_edge as qe
from qdrant_client.http import models as m

from tests.support.qdrant_standin.errors import unsupported

# REST type name -> (Edge schema type, Edge params class, REST params class).
_KINDS: dict[str, tuple[Any, Any, Any]] = {
    "keyword": (qe.PayloadSchemaType.Keyword, qe.KeywordIndexParams, m.KeywordIndexParams),
    "integer": (qe.PayloadSchemaType.Integer, qe.IntegerIndexParams, m.IntegerIndexParams),
    "float": (qe.PayloadSchemaType.Float, qe.FloatIndexParams, m.FloatIndexParams),
    "geo": (qe.PayloadSchemaType.Geo, qe.GeoIndexParams, m.GeoIndexParams),
    "bool": (qe.PayloadSchemaType.Bool, qe.BoolIndexParams, m.BoolIndexParams),
    "datetime": (qe.PayloadSchemaType.Datetime, qe.DatetimeIndexParams, m.DatetimeIndexParams),
    "uuid": (qe.PayloadSchemaType.Uuid, qe.UuidIndexParams, m.UuidIndexParams),
    "text": (qe.PayloadSchemaType.Text, None, m.TextIndexParams),
}
_BY_EDGE_TYPE = {edge_type: name for name, (edge_type, _, _) in _KINDS.items()}


def create_index(body: m.CreateFieldIndex) -> qe.UpdateOperation:
    return qe.UpdateOperation.create_field_index(body.field_name, _edge_schema(body.field_schema))


def _edge_schema(schema: m.PayloadFieldSchema | None) -> Any:
    """A plain type (`"keyword"`) or typed params (`{"type": "keyword", "is_tenant": true}`)."""
    if schema is None:
        raise unsupported("an index without field_schema")
    if isinstance(schema, m.PayloadSchemaType):
        return _KINDS[schema.value][0]
    name = schema.type.value
    params = schema.model_dump(exclude={"type"}, exclude_none=True)
    edge_params = _KINDS[name][1]
    if edge_params is None or "memory" in params:
        raise unsupported(f"{name} index params {sorted(params)}")
    return edge_params(**params)


def rest_index_info(info: Any) -> m.PayloadIndexInfo:
    """Edge's `PayloadIndexInfo` (type, params, points) as the REST model."""
    name = _BY_EDGE_TYPE[info.data_type]
    params = None
    if info.params is not None:
        rest_params = _KINDS[name][2]
        fields = set(rest_params.model_fields) - {"type", "memory"}
        values = {f: getattr(info.params, f, None) for f in fields}
        params = rest_params(type=name, **{k: v for k, v in values.items() if v is not None})
    return m.PayloadIndexInfo(
        data_type=m.PayloadSchemaType(name), params=params, points=int(info.points)
    )

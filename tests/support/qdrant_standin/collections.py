"""Collections on disk: one Qdrant Edge shard per collection, under the stand-in's folder.

`<root>/collections/<name>/config.json` keeps the create request as it came (vectors, and the
cluster settings `shard_number`, `replication_factor`, `write_consistency_factor`, which one
node records but cannot act on); `<name>/shard/` is the Edge shard. A restart loads both, so
data and settings survive it. Edge locks its folder to one process, so every client reaches a
shard through this one process, and writes to a shard are serialized by an asyncio lock while
reads run in threads alongside them (Edge releases the GIL and reads concurrently).
"""

from __future__ import annotations

import asyncio
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import qdrant_edge as qe
from qdrant_client.http import models as m

from tests.support.qdrant_standin.errors import (
    QdrantError,
    already_exists,
    from_edge,
    missing_collection,
    unsupported,
    wrong_input,
)

_BAD_NAME = re.compile(r'[<>:"/\\|?*\x00-\x1f]')
_DISTANCES = {
    m.Distance.COSINE: qe.Distance.Cosine,
    m.Distance.EUCLID: qe.Distance.Euclid,
    m.Distance.DOT: qe.Distance.Dot,
    m.Distance.MANHATTAN: qe.Distance.Manhattan,
}


@dataclass
class Collection:
    """One open collection; `operations` numbers its writes (Qdrant's `operation_id`)."""

    name: str
    config: m.CreateCollection
    shard: Any
    writes: asyncio.Lock = field(default_factory=asyncio.Lock)
    operations: int = 0
    closed: bool = False

    async def write(self, operation: Any) -> int:
        async with self.writes:
            await self._call("update", operation)
            self.operations += 1
            return self.operations

    async def read(self, method: str, request: Any = None) -> Any:
        return await self._call(method, *([] if request is None else [request]))

    async def _call(self, method: str, *args: Any) -> Any:
        if self.closed:
            raise missing_collection(self.name)
        try:
            return await asyncio.to_thread(getattr(self.shard, method), *args)
        except Exception as exc:  # Edge raises bare Exception/ValueError for every failure
            if self.closed:  # deleted while this request ran
                raise missing_collection(self.name) from exc
            raise from_edge(exc) from exc


class Collections:
    """Every collection under `root`, opened at start and closed (flushed) at shutdown."""

    def __init__(self, root: Path) -> None:
        self._root = root / "collections"
        self._open: dict[str, Collection] = {}
        self._lock = asyncio.Lock()  # create and delete, as Qdrant's collection_create_lock

    def load(self) -> None:
        self._root.mkdir(parents=True, exist_ok=True)
        for folder in sorted(self._root.iterdir()):
            config_file = folder / "config.json"
            if config_file.exists():  # a folder without it is a create that never finished
                config = m.CreateCollection.model_validate_json(config_file.read_text())
                shard = qe.EdgeShard.load(str(folder / "shard"), None)
                self._open[folder.name] = Collection(folder.name, config, shard)

    def names(self) -> list[str]:
        return sorted(self._open)

    def exists(self, name: str) -> bool:
        return name in self._open

    def get(self, name: str) -> Collection:
        try:
            return self._open[name]
        except KeyError:
            raise missing_collection(name) from None

    async def create(self, name: str, body: m.CreateCollection) -> None:
        check_name(name)
        edge_config = _edge_config(body)
        async with self._lock:
            if name in self._open:
                raise already_exists(f"Collection `{name}` already exists!")
            folder = self._root / name
            shutil.rmtree(folder, ignore_errors=True)
            try:
                shard = await asyncio.to_thread(
                    qe.EdgeShard.create, str(folder / "shard"), edge_config
                )
            except Exception as exc:
                raise from_edge(exc) from exc
            # Written last: the collection exists on disk once its config does.
            temporary = folder / "config.json.tmp"
            temporary.write_text(body.model_dump_json(exclude_none=True))
            temporary.replace(folder / "config.json")
            self._open[name] = Collection(name, body, shard)

    async def delete(self, name: str) -> bool:
        async with self._lock:
            collection = self._open.pop(name, None)
            if collection is None:
                return False
            async with collection.writes:
                collection.closed = True
                await asyncio.to_thread(collection.shard.close)
            await asyncio.to_thread(shutil.rmtree, self._root / name)
            return True

    def close_all(self) -> None:
        for collection in self._open.values():
            collection.closed = True
            collection.shard.flush()
            collection.shard.close()
        self._open.clear()


def check_name(name: str) -> None:
    if not name or len(name) > 255 or name in {".", ".."} or _BAD_NAME.search(name):
        raise QdrantError(
            422, f"Validation error in path parameters: [collection_name]: invalid name {name!r}"
        )


def _edge_config(body: m.CreateCollection) -> qe.EdgeConfig:
    for number in ("shard_number", "replication_factor", "write_consistency_factor"):
        if getattr(body, number) == 0:
            raise wrong_input(f"`{number}` cannot be 0")
    if body.sharding_method == m.ShardingMethod.CUSTOM:
        raise unsupported("custom sharding")
    if body.quantization_config is not None or body.strict_mode_config is not None:
        raise unsupported("quantization and strict mode")
    vectors: Any = None
    if isinstance(body.vectors, m.VectorParams):
        vectors = _dense(body.vectors)
    elif body.vectors is not None:
        vectors = {name: _dense(params) for name, params in body.vectors.items()}
    sparse = {
        name: qe.EdgeSparseVectorParams(
            modifier=qe.Modifier.Idf if params.modifier == m.Modifier.IDF else None
        )
        for name, params in (body.sparse_vectors or {}).items()
    }
    if vectors is None and not sparse:
        raise wrong_input("a collection needs dense or sparse vectors")
    return qe.EdgeConfig(vectors=vectors, sparse_vectors=sparse or None)


def _dense(params: m.VectorParams) -> qe.EdgeVectorParams:
    if params.size < 1:  # Qdrant's validator answers this before Edge would fail on it
        raise QdrantError(422, "Validation error in JSON body: [vectors.size]: must be 1 or larger")
    if params.quantization_config or params.multivector_config or params.datatype:
        raise unsupported("vector quantization, multivectors and datatypes")
    return qe.EdgeVectorParams(size=params.size, distance=_DISTANCES[params.distance])

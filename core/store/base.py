"""What the store holds and the protocol both Qdrant backends implement.

Every point is one chunk with a dense vector (`dense`), a sparse BM25 vector (`bm25`, Qdrant's
IDF modifier) and a payload. Payload fields `kb`, `doc_id` and `generation` are indexed:
`kb` is the tenant, `generation` identifies one ingested version of a document, which is how
a new version replaces an old one without a moment where queries see both or neither.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from core.sparse import SparseVector

DENSE = "dense"
SPARSE = "bm25"
INDEXED_FIELDS = ("kb", "doc_id", "generation")
SEQ = "seq"
# A knowledge-base name no knowledge base can have (names start with a letter or digit):
# the filter of a caller who may read nothing, since an empty "any of" is not portable.
NO_KB = "-none-"


@dataclass(frozen=True)
class ChunkPoint:
    """A chunk ready to store: id (a UUID string), both vectors and its payload."""

    id: str
    dense: list[float]
    sparse: SparseVector
    payload: dict[str, Any]


@dataclass(frozen=True)
class StoredChunk:
    """A chunk read back: its id and payload."""

    id: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class ScoredChunk:
    """A chunk found by a query, with the score of the query's last stage."""

    id: str
    score: float
    payload: dict[str, Any]


@dataclass(frozen=True)
class Where:
    """A conjunctive filter; None means 'any'.

    `hidden_generations` are excluded, and so are chunks whose `seq` payload is above
    `max_seq` (staged after the snapshot the query works from).
    """

    kbs: tuple[str, ...] | None = None
    doc_id: str | None = None
    generation: str | None = None
    hidden_generations: frozenset[str] = field(default_factory=frozenset)
    chunk_range: tuple[int, int] | None = None  # inclusive bounds on chunk_index
    max_seq: int | None = None


@dataclass(frozen=True)
class Visibility:
    """What queries may see at one moment, as `ingest.registry` keeps it.

    The registry clock, the generations hidden then, each knowledge base with its content
    version, and the BM25 tokenizer spec each one was encoded with (see `core.sparse`).
    A restricted snapshot (`restrict`, one per request, see `core.auth`) also names the
    knowledge bases its caller may read: `versions` keeps only those, and every filter it
    makes is limited to them, so that "no knowledge base named" means "every readable one",
    never "every one".
    """

    clock: int | None
    hidden: frozenset[str]
    versions: Mapping[str, int]
    sparse: Mapping[str, str] = field(default_factory=dict)
    readable: frozenset[str] | None = None  # None: not restricted (internal jobs only)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self.versions)

    def restrict(self, readable: Iterable[str] | None) -> Visibility:
        """This snapshot limited to `readable` (None: to every existing knowledge base).

        Restricting twice keeps the intersection: a restriction can only narrow.
        """
        allowed = self.names if readable is None else self.names & frozenset(readable)
        if self.readable is not None:
            allowed &= self.readable
        versions = {name: v for name, v in self.versions.items() if name in allowed}
        return replace(self, versions=versions, readable=allowed)

    def where(self, kbs: Sequence[str] | None = None, **more: object) -> Where:
        """A filter showing exactly one version of each document of `kbs` (None: all).

        Restricted: `kbs` outside the readable set are dropped, and None means the readable
        set; with nothing left the filter matches no knowledge base at all.
        """
        if self.readable is not None:
            asked = sorted(self.readable) if kbs is None else kbs
            kbs = [kb for kb in asked if kb in self.readable] or [NO_KB]
        return Where(
            kbs=tuple(kbs) if kbs is not None else None,
            hidden_generations=self.hidden,
            max_seq=self.clock,
            **more,  # type: ignore[arg-type]
        )


@dataclass(frozen=True)
class VectorQuery:
    """Nearest chunks by the dense vector, the sparse one, or both fused by weighted RRF."""

    where: Where
    limit: int
    dense: list[float] | None = None
    sparse: SparseVector | None = None
    prefetch_limit: int = 100
    rrf_k: int = 60
    dense_weight: float = 1.0
    sparse_weight: float = 1.0

    @property
    def hybrid(self) -> bool:
        return self.dense is not None and self.sparse is not None


class VectorStore(Protocol):
    """Chunk storage with dense and sparse vectors.

    Contract: `ensure` is idempotent and creates vectors and payload indexes; `upsert` is
    visible to `count`/`scroll` as soon as it returns; `delete` removes every point matching
    `where` (an empty `Where` is refused with ValueError, so nothing deletes everything by
    accident); `scroll` returns every matching chunk. Backend failures raise
    `core.errors.UpstreamError`.
    """

    name: str

    async def ensure(self, dimension: int) -> None: ...

    async def upsert(self, points: Sequence[ChunkPoint]) -> None: ...

    async def delete(self, where: Where) -> None: ...

    async def count(self, where: Where) -> int: ...

    async def scroll(self, where: Where, *, limit: int = 10_000) -> list[StoredChunk]: ...

    async def query(self, query: VectorQuery) -> list[ScoredChunk]:
        """Best `limit` chunks matching `query.where`, best first.

        With both vectors: each is searched (`prefetch_limit` each) and the two rankings are
        fused by reciprocal rank fusion inside Qdrant, weighted by `dense_weight` and
        `sparse_weight`. With one: a plain nearest search on it. With none: ValueError.
        """
        ...

    async def optimize(self) -> None:
        """Build search indexes for what was written (Edge only does this when asked)."""
        ...

    async def close(self) -> None: ...


def usable_sparse(query: VectorQuery) -> SparseVector | None:
    """The sparse vector, unless it is empty (a query of stop words only)."""
    return query.sparse if query.sparse is not None and query.sparse.indices else None


def require_selective(where: Where) -> None:
    """Refuse deletes that would match every point."""
    if where.kbs is None and where.doc_id is None and where.generation is None:
        raise ValueError("refusing to delete with an empty filter")

"""`HybridRetriever`: one Qdrant query per search, fused inside Qdrant, then tidied."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

from core.embeddings import Embedder
from core.errors import InvalidRequest, NotFound
from core.observability.metrics import RETRIEVAL_DURATION
from core.sparse import SparseEncoders
from core.store import ScoredChunk, VectorQuery, VectorStore, Visibility
from retrieval.dedup import collapse
from retrieval.protocol import Hit, Mode
from retrieval.rerank import Reranker
from retrieval.settings import RetrievalSettings

_CJK = ("\u3040", "\u30ff"), ("\u3400", "\u4dbf"), ("\u4e00", "\u9fff"), ("\uac00", "\ud7af")


def cjk_share(text: str) -> float:
    """Share of CJK characters among the non-space characters of `text`."""
    chars = [c for c in text if not c.isspace()]
    cjk = sum(any(low <= c <= high for low, high in _CJK) for c in chars)
    return cjk / len(chars) if chars else 0.0


def to_hit(chunk: ScoredChunk | Any, score: float) -> Hit:
    """A stored chunk's payload as a Hit."""
    p = chunk.payload
    return Hit(
        score=score, kb=p["kb"], document_id=p["doc_id"], title=p.get("title", ""),
        source=p.get("source", ""), page=p.get("page", 1), char_start=p.get("char_start", 0),
        char_end=p.get("char_end", 0), chunk_index=p.get("chunk_index", 0),
        heading_path=p.get("heading_path", []), text=p.get("text", ""), ocr=p.get("ocr", False),
    )  # fmt: skip


class HybridRetriever:
    """Dense + BM25 search over live chunks of the asked knowledge bases.

    `visibility` comes from the document registry, which owns which document versions are
    live and which knowledge bases exist; each search works from one snapshot of it.
    """

    def __init__(
        self,
        *,
        store: VectorStore,
        embedder: Embedder,
        sparse: SparseEncoders,
        visibility: Callable[[], Visibility],
        settings: RetrievalSettings,
        reranker: Reranker | None = None,
    ) -> None:
        self._store, self._embedder, self._sparse = store, embedder, sparse
        self._visibility = visibility
        self._settings, self._reranker = settings, reranker

    @property
    def embedder(self) -> Embedder:
        """The model that embeds queries (answers reuse it for the question's vector)."""
        return self._embedder

    async def retrieve(
        self, query: str, kbs: Sequence[str], *, top_k: int = 8, mode: Mode = Mode.HYBRID
    ) -> list[Hit]:
        if not query.strip():
            raise InvalidRequest("the query is empty", param="query")
        started = time.perf_counter()
        hits = await self._retrieve(query, kbs, top_k, mode)
        RETRIEVAL_DURATION.labels(mode.value).observe(time.perf_counter() - started)
        return hits

    async def _retrieve(self, query: str, kbs: Sequence[str], top_k: int, mode: Mode) -> list[Hit]:
        visible = self._visibility()
        if unknown := [kb for kb in kbs if kb not in visible.versions]:
            raise NotFound(f"unknown knowledge base(s): {', '.join(unknown)}")
        candidates = max(top_k * 3, self._settings.rerank_candidates if self._reranker else 0)
        vector_query = await self._vector_query(query, visible, kbs, candidates, mode)
        chunks = await self._store.query(vector_query)
        kept = collapse(
            chunks, [c.payload.get("text", "") for c in chunks], self._settings.dedup_jaccard
        )
        hits = [to_hit(c, c.score) for c in kept]
        if self._reranker is not None:
            hits = await self._rerank(query, hits)
        hits = hits[:top_k]
        if self._settings.neighbours:
            hits = await self._with_neighbours(hits, visible)
        return hits

    async def _vector_query(
        self, query: str, visible: Visibility, kbs: Sequence[str], limit: int, mode: Mode
    ) -> VectorQuery:
        s = self._settings
        dense = None
        if mode is not Mode.SPARSE:
            dense = await asyncio.to_thread(self._embedder.embed_query, query)
        sparse = None
        if mode is not Mode.DENSE:
            # Each knowledge base is queried with the tokenizer its chunks were encoded with.
            specs = [visible.sparse[kb] for kb in kbs if kb in visible.sparse]
            # In a thread: the first query of a spec loads jieba (and its words) for it.
            sparse = await asyncio.to_thread(self._sparse.query, query, specs)
        dense_weight = s.cjk_dense_weight if cjk_share(query) >= 0.3 else s.dense_weight
        return VectorQuery(
            visible.where(kbs), limit=limit,
            dense=dense, sparse=sparse, prefetch_limit=max(s.prefetch_limit, limit),
            rrf_k=s.rrf_k, dense_weight=dense_weight, sparse_weight=s.sparse_weight,
        )  # fmt: skip

    async def _rerank(self, query: str, hits: list[Hit]) -> list[Hit]:
        assert self._reranker is not None
        scores = await asyncio.to_thread(self._reranker.scores, query, [h.text for h in hits])
        ranked = sorted(zip(scores, hits, strict=True), key=lambda pair: -pair[0])
        return [hit.model_copy(update={"score": score}) for score, hit in ranked]

    async def _with_neighbours(self, hits: list[Hit], visible: Visibility) -> list[Hit]:
        n = self._settings.neighbours
        out = []
        for hit in hits:
            where = visible.where(
                [hit.kb], doc_id=hit.document_id,
                chunk_range=(hit.chunk_index - n, hit.chunk_index + n),
            )  # fmt: skip
            around = sorted(await self._store.scroll(where), key=lambda c: c.payload["chunk_index"])
            context = "\n".join(c.payload["text"] for c in around)
            out.append(hit.model_copy(update={"context": context}))
        return out

"""Retrieval settings: a plain model nested in the settings of whichever service embeds it."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RetrievalSettings(BaseModel):
    """How hybrid search ranks; defaults tuned on SciFact and CMRC train judgments."""

    top_k: int = Field(8, ge=1, le=100, description="Passages returned when not asked.")
    prefetch_limit: int = Field(100, ge=1, description="Candidates from each index before fusion.")
    # Tuned on SciFact's train judgments and the first half of CMRC's queries: k=5 beat the
    # textbook 60 on both (SciFact train nDCG@10 0.723 vs 0.709).
    rrf_k: int = Field(5, ge=1, description="Reciprocal rank fusion constant.")
    dense_weight: float = Field(1.0, ge=0, description="RRF weight of the dense ranking.")
    sparse_weight: float = Field(1.0, ge=0, description="RRF weight of the BM25 ranking.")
    cjk_dense_weight: float = Field(
        0.05,
        ge=0,
        description="Dense weight for mostly-Chinese/Japanese queries: the bundled model reads "
        "English only, so its ranking there is weak and must not drown BM25.",
    )
    dedup_jaccard: float = Field(
        0.8, gt=0, le=1, description="Word 5-shingle overlap at which two passages are one."
    )
    neighbours: int = Field(
        0, ge=0, le=5, description="Chunks on each side of a hit added as its context."
    )
    reranker_model: str | None = Field(
        None, description="Local sentence-transformers CrossEncoder folder; unset: no reranking."
    )
    rerank_candidates: int = Field(30, ge=1, description="Fused candidates the reranker rescores.")

"""Retrieval service: a query in, ranked chunks of the asked knowledge bases out.

Hybrid search (a dense and a sparse BM25 prefetch fused by weighted reciprocal rank fusion
inside Qdrant), restricted to live document generations, near-duplicates collapsed,
optionally widened to neighbouring chunks and reranked by a local cross-encoder.
Entry points: `retrieval.hybrid.HybridRetriever`, the `POST /v1/retrieve` route in
`retrieval.routes`, and the BEIR evaluation in `retrieval.evaluate` (`kb eval`).
"""

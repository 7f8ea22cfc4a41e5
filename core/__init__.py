"""Plumbing shared by more than one service, and nothing else.

Owns the error tree (`core.errors`), the shared settings models (`core.settings`), the
embedding contract (`core.embeddings`), the CJK-aware BM25 tokenizer (`core.sparse`) and the
vector store protocol with its two Qdrant backends (`core.store`). Ingest writes the store and
retrieval reads it; both must agree on vectors and payload, so that contract lives here.
"""

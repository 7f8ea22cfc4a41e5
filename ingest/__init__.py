"""Ingest service: documents in, chunks with dense and sparse vectors out, in the store.

Parses files (in-process parsers, or an Apache Tika server over REST), chunks them in the
embedding model's tokens, embeds them and writes them through `core.store`, keeping a SQLite
registry of knowledge bases, documents, jobs and live chunk generations in the data folder.
Entry points: `ingest.app.create_app(settings)` (its own HTTP service, `python -m ingest serve`),
`ingest.runtime.IngestRuntime` (embedded in the answer service and the `kb` CLI).
"""

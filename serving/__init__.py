"""Answer service: the public API and the `kb` command line.

In embedded mode (the default) it runs ingestion in-process: the knowledge-base, document
and job routes of `ingest`, over Qdrant Edge in the data folder. Entry points:
`serving.app.create_app(settings, ingest_settings)` and the `kb` CLI in `kb.cli`.
"""

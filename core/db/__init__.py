"""The metadata store: one SQL database that every process of a deployment shares.

SQLite in the data folder for the embedded default, PostgreSQL in services mode, through
SQLAlchemy 2.x Core (`core.db.engine.Database`); the schema is `core.db.schema` and its
history is the Alembic migrations in `core/db/migrations`, applied on start
(`core.db.migrate.upgrade`). Each service keeps the repository for its own tables
(`ingest.registry`, `ingest.jobs`, `serving.feedback.store` ...); the schema lives here
because one database holds them all and one migration history must order them.

SQLAlchemy Core rather than the ORM: the queries are few and explicit (row locks, `SKIP
LOCKED` claims, counters bumped in the same transaction), and Core keeps them visible.
"""

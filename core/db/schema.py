"""The tables of the metadata store, as the latest migration leaves them.

Timestamps are ISO 8601 text in UTC (second precision), as the first SQLite schema stored
them, so that old and new rows compare and sort alike; lease deadlines are epoch seconds by
the database's clock (`Database.now()`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()


def utc_now() -> str:
    """Now as the store writes timestamps: ISO 8601 in UTC, second precision."""
    return datetime.now(UTC).isoformat(timespec="seconds")


knowledge_bases = Table(
    "knowledge_bases",
    metadata,
    Column("name", Text, primary_key=True),
    Column("description", Text, nullable=False, server_default=""),
    Column("created_at", Text, nullable=False),
    # Bumped whenever a document of it goes live or away: answer caches key on it.
    Column("version", BigInteger, nullable=False, server_default="0"),
)

documents = Table(
    "documents",
    metadata,
    Column("id", Text, primary_key=True),
    Column("kb", Text, ForeignKey("knowledge_bases.name"), nullable=False),
    Column("source", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("pages", Integer, nullable=False),
    Column("chunks", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("generation", Text, nullable=False),
    Column("parser", Text, nullable=False),
    Column("metadata", Text, nullable=False),
    Column("ingested_at", Text, nullable=False),
    UniqueConstraint("kb", "source"),
    Index("documents_sha", "kb", "sha256"),
)

# Generations whose chunks queries must not see: being written (staged), or replaced or
# deleted and awaiting purge (retired). `seq` is the registry clock when it was staged;
# `task` the job file ("<job>/<position>") whose lease decides whether it can still go live.
hidden_generations = Table(
    "hidden_generations",
    metadata,
    Column("generation", Text, primary_key=True),
    Column("kb", Text, nullable=False),
    Column("doc_id", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("since", Text, nullable=False),
    Column("task", Text, nullable=True),
    Column("seq", BigInteger, nullable=True),
    CheckConstraint("state IN ('staged', 'retired')", name="hidden_generations_state"),
)

meta = Table(
    "meta",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

# Monotonic counters; `registry` is bumped by every write to the registry tables, so a
# process can tell in one read whether what it cached is still current.
counters = Table(
    "counters",
    metadata,
    Column("name", Text, primary_key=True),
    Column("value", BigInteger, nullable=False),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Text, primary_key=True),
    Column("kb", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("started_at", Text),
    Column("finished_at", Text),
    Column("error", Text),
    # Set for `kb ingest` jobs: their files lie on that process's machine, so only it may
    # claim them.
    Column("claimable_by", Text),
    Index("jobs_status", "status", "created_at"),
)

job_files = Table(
    "job_files",
    metadata,
    Column("job_id", Text, ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("name", Text, nullable=False),
    # Relative to the shared uploads folder when `upload`; else a path the worker can read.
    Column("stored_path", Text, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("outcome", Text),
    Column("reason", Text),
    Column("message", Text),
    Column("doc_id", Text),
    # Live while the file is ingested, final once it has an outcome.
    Column("pages", Integer, nullable=False, server_default="0"),
    Column("chunks", Integer, nullable=False, server_default="0"),
    Column("upload", Boolean, nullable=False, server_default="1"),
    # Each file is a task that workers claim: who holds it, until when (epoch seconds by the
    # database's clock), under which fencing token, and how many times it was claimed.
    Column("lease_owner", Text),
    Column("lease_token", Text),
    Column("lease_expires", Float),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Index("job_files_open", "outcome", "lease_expires"),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", Text, nullable=False),
    Column("model", Text),
    Column("question", Text, nullable=False),
    Column("answer", Text, nullable=False),
    Column("rating", Integer, nullable=False),
    Column("comment", Text, nullable=False),
    Column("citations", Text, nullable=False),
    Column("user_name", Text),  # who rated (null before 0005); erasure blanks their texts
    CheckConstraint("rating BETWEEN 1 AND 5", name="feedback_rating"),
    Index("feedback_user", "user_name"),
)

# Small named values that every replica must agree on (the model alias, ...), as JSON text.
shared_state = Table(
    "shared_state",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
)

# -- identities and access (revision 0003) ------------------------------------------------
# A user is a name the organisation knows (an API key's owner, or an OIDC token's subject);
# `is_admin` users whose key carries the `admin` scope manage keys, users, groups and more.
users = Table(
    "users",
    metadata,
    Column("name", Text, primary_key=True),
    Column("is_admin", Boolean, nullable=False, server_default="0"),
    Column("created_at", Text, nullable=False),
)

groups = Table(
    "groups",
    metadata,
    Column("name", Text, primary_key=True),
    Column("created_at", Text, nullable=False),
)

group_members = Table(
    "group_members",
    metadata,
    Column("group_name", Text, ForeignKey("groups.name", ondelete="CASCADE"), primary_key=True),
    Column("user_name", Text, ForeignKey("users.name", ondelete="CASCADE"), primary_key=True),
    Index("group_members_user", "user_name"),
)

# Only a hash of each key's secret is kept: the key itself is shown once, when created.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Text, primary_key=True),
    Column("user_name", Text, ForeignKey("users.name", ondelete="CASCADE"), nullable=False),
    Column("secret_hash", Text, nullable=False),
    Column("scopes", Text, nullable=False),  # space-separated: read ingest admin
    Column("label", Text, nullable=False, server_default=""),
    Column("created_at", Text, nullable=False),
    Column("expires_at", Text),
    Column("revoked_at", Text),
    Index("api_keys_user", "user_name"),
)

# Per-knowledge-base grants to a user or a group; they go with their knowledge base.
kb_grants = Table(
    "kb_grants",
    metadata,
    Column("kb", Text, ForeignKey("knowledge_bases.name", ondelete="CASCADE"), primary_key=True),
    Column("subject_kind", Text, primary_key=True),
    Column("subject", Text, primary_key=True),
    Column("level", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    CheckConstraint("subject_kind IN ('user', 'group')", name="kb_grants_kind"),
    CheckConstraint("level IN ('read', 'write', 'manage')", name="kb_grants_level"),
    Index("kb_grants_subject", "subject_kind", "subject"),
)

# The audit log: append-only, each record chained to the one before by `prev_hash`
# (core.audit). Lists and details are JSON text; `seq` is handed out under the head row's lock.
# Personal fields enter the chain through `personal_digest` (salted), so that erasing a person
# (pseudonymising their records, dropping the salt) leaves the chain verifiable.
audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("actor_user", Text),
    Column("actor_key", Text),
    Column("actor_subject", Text),
    Column("client", Text),
    Column("method", Text, nullable=False),
    Column("route", Text, nullable=False),
    Column("kbs", Text, nullable=False),
    Column("question_hash", Text),
    Column("question", Text),
    Column("retrieved", Text, nullable=False),
    Column("cited", Text, nullable=False),
    Column("model", Text),
    Column("adapter", Text),
    Column("outcome", Text, nullable=False),
    Column("status", Integer),
    Column("latency_ms", Float),
    Column("detail", Text, nullable=False),
    Column("personal_salt", Text),
    Column("personal_digest", Text, nullable=False),
    Column("prev_hash", Text, nullable=False),
    Column("hash", Text, nullable=False),
    Index("audit_log_at", "at"),
    Index("audit_log_actor", "actor_user"),
)

# One row (id 1): the last record's number and hash. Appenders lock it, which orders them on
# every backend, and `verify` compares it with the last record, so a cut-off tail shows.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", Text, nullable=False),
)

# Conversations a client keeps by sending a conversation id; only their owner sees them.
# No foreign key to users: callers authenticated by an OIDC token need no users row.
conversations = Table(
    "conversations",
    metadata,
    Column("id", Text, primary_key=True),
    Column("user_name", Text, nullable=False),
    Column("title", Text, nullable=False, server_default=""),
    Column("created_at", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
    Index("conversations_user", "user_name", "updated_at"),
)

conversation_turns = Table(
    "conversation_turns",
    metadata,
    Column(
        "conversation_id",
        Text,
        ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("role", Text, nullable=False),
    Column("content", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    CheckConstraint("role IN ('user', 'assistant')", name="conversation_turns_role"),
)

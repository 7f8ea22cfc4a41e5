"""Services mode: per-file leases, the registry clock, feedback and shared state.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("knowledge_bases") as kbs:
        kbs.add_column(sa.Column("version", sa.BigInteger, nullable=False, server_default="0"))
    with op.batch_alter_table("hidden_generations") as hidden:
        # The task (job/position) that staged it, so that its lease decides its fate.
        hidden.add_column(sa.Column("task", sa.Text, nullable=True))
        hidden.add_column(sa.Column("seq", sa.BigInteger, nullable=True))
    counters = op.create_table(
        "counters",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    # `registry`: the registry clock; `feedback`: the last rating id handed out.
    op.bulk_insert(counters, [{"name": "registry", "value": 0}, {"name": "feedback", "value": 0}])
    with op.batch_alter_table("jobs") as jobs:
        jobs.add_column(sa.Column("claimable_by", sa.Text))
    op.create_index("jobs_status", "jobs", ["status", "created_at"])
    with op.batch_alter_table("job_files") as files:
        # Files of jobs created before this revision were all uploads.
        files.add_column(sa.Column("upload", sa.Boolean, nullable=False, server_default="1"))
        files.add_column(sa.Column("lease_owner", sa.Text))
        files.add_column(sa.Column("lease_token", sa.Text))
        files.add_column(sa.Column("lease_expires", sa.Float))
        files.add_column(sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))
    op.create_index("job_files_open", "job_files", ["outcome", "lease_expires"])
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("model", sa.Text),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("rating", sa.Integer, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("citations", sa.Text, nullable=False),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name="feedback_rating"),
    )
    op.create_table(
        "shared_state",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Text, nullable=False),
    )

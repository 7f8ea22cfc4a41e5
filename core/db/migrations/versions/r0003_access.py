"""Identities and access: users, groups, API keys (hashed) and per-knowledge-base grants.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    # `access`: bumped by every write below, so cached callers know when to look again.
    counters = sa.table("counters", sa.column("name", sa.Text), sa.column("value", sa.BigInteger))
    op.bulk_insert(counters, [{"name": "access", "value": 0}])
    op.create_table(
        "users",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("is_admin", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("created_at", sa.Text, nullable=False),
    )
    op.create_table(
        "groups",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("created_at", sa.Text, nullable=False),
    )
    op.create_table(
        "group_members",
        sa.Column(
            "group_name", sa.Text, sa.ForeignKey("groups.name", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "user_name", sa.Text, sa.ForeignKey("users.name", ondelete="CASCADE"),
            primary_key=True,
        ),
    )  # fmt: skip
    op.create_index("group_members_user", "group_members", ["user_name"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column(
            "user_name", sa.Text, sa.ForeignKey("users.name", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("secret_hash", sa.Text, nullable=False),
        sa.Column("scopes", sa.Text, nullable=False),
        sa.Column("label", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("expires_at", sa.Text),
        sa.Column("revoked_at", sa.Text),
    )
    op.create_index("api_keys_user", "api_keys", ["user_name"])
    op.create_table(
        "kb_grants",
        sa.Column(
            "kb", sa.Text, sa.ForeignKey("knowledge_bases.name", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("subject_kind", sa.Text, primary_key=True),
        sa.Column("subject", sa.Text, primary_key=True),
        sa.Column("level", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.CheckConstraint("subject_kind IN ('user', 'group')", name="kb_grants_kind"),
        sa.CheckConstraint("level IN ('read', 'write', 'manage')", name="kb_grants_level"),
    )  # fmt: skip
    op.create_index("kb_grants_subject", "kb_grants", ["subject_kind", "subject"])

"""Audit records whose personal fields enter the chain through a salted digest (erasure).

Records written before this revision keep their hashes over the plain fields (no digest);
`core.audit.verify` checks them the old way, and they cannot be made pseudonymous.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("audit_log") as audit:
        audit.add_column(sa.Column("personal_salt", sa.Text))
        audit.add_column(sa.Column("personal_digest", sa.Text))

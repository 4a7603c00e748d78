"""Partial index of the waiting queue per account (the dispatcher's fair share)

Revision ID: 0010
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_messages_waiting",
            ["account_id", "priority", "due_at", "id"],
            unique=False,
            sqlite_where=sa.text("status = -1"),
            postgresql_where=sa.text("status = -1"),
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_waiting")

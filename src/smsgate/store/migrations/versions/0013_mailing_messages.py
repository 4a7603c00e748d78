"""Messages know their mailing (pause, resume and cancel of a job)

Revision ID: 0013
Revises: 0010
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("job_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            "ix_messages_job",
            ["job_id", "status"],
            unique=False,
            sqlite_where=sa.text("job_id IS NOT NULL"),
            postgresql_where=sa.text("job_id IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_job")
        batch_op.drop_column("job_id")

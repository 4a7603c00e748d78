"""export tasks

Revision ID: 0007
Revises: 0011
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import smsgate.store.types

revision = "0007"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "export_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("period_start", smsgate.store.types.UnixTime(precision=53), nullable=False),
        sa.Column("period_end", smsgate.store.types.UnixTime(precision=53), nullable=False),
        sa.Column("phones", sa.Text(), server_default="", nullable=False),
        sa.Column("statuses", sa.String(length=200), server_default="", nullable=False),
        sa.Column("types", sa.String(length=200), server_default="", nullable=False),
        sa.Column("charset", sa.String(length=16), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("created_at", smsgate.store.types.UnixTime(precision=53), nullable=False),
        sa.Column("started_at", smsgate.store.types.UnixTime(precision=53), nullable=True),
        sa.Column("finished_at", smsgate.store.types.UnixTime(precision=53), nullable=True),
        sa.Column("file_name", sa.String(length=64), nullable=True),
        sa.Column("file_removed_at", smsgate.store.types.UnixTime(precision=53), nullable=True),
        sa.Column("rows_expected", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("rows_written", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("runner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", smsgate.store.types.UnixTime(precision=53), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_export_tasks_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_tasks")),
    )
    op.create_index(
        "ix_export_tasks_account_id", "export_tasks", ["account_id", "id"], unique=False
    )
    op.create_index(
        "ix_export_tasks_status_lease_until",
        "export_tasks",
        ["status", "lease_until"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_export_tasks_status_lease_until", table_name="export_tasks")
    op.drop_index("ix_export_tasks_account_id", table_name="export_tasks")
    op.drop_table("export_tasks")

"""jobs.php: mailings

Revision ID: 0017
Revises: 0018
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import smsgate.store.types

revision = "0017"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    time = smsgate.store.types.UnixTime(precision=53)
    op.create_table(
        "mailings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("created_at", time, nullable=False),
        sa.Column("updated_at", time, nullable=False),
        sa.Column("first_run_at", time, nullable=False),
        sa.Column("next_run_at", time, nullable=True),
        sa.Column("rpt", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("rptn", sa.Integer(), nullable=True),
        sa.Column("msg_type", sa.SmallInteger(), nullable=False),
        sa.Column("sender", sa.String(length=64), nullable=True),
        sa.Column("mes", sa.Text(), nullable=False),
        sa.Column("request", sa.LargeBinary(), nullable=False),
        sa.Column("cnt", sa.Integer(), nullable=False),
        sa.Column("test", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("retry", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("sender2", sa.String(length=64), nullable=True),
        sa.Column("mes2", sa.Text(), nullable=True),
        sa.Column("runs", sa.Integer(), server_default="0", nullable=False),
        sa.Column("run_id", sa.String(length=40), nullable=True),
        sa.Column("run_at", time, nullable=True),
        sa.Column("run_open", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("run_total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("run_done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("run_cost", smsgate.store.types.Money(), server_default="0", nullable=False),
        sa.Column("run_broke", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("resume", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("runner", sa.String(length=64), nullable=True),
        sa.Column("claim", sa.String(length=32), nullable=True),
        sa.Column("lease_until", time, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("deleted", sa.Boolean(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_mailings_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailings")),
    )
    with op.batch_alter_table("mailings", schema=None) as batch_op:
        batch_op.create_index("ix_mailings_account_id", ["account_id", "id"], unique=False)
        batch_op.create_index(
            "ix_mailings_status_next_run_at", ["status", "next_run_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("mailings", schema=None) as batch_op:
        batch_op.drop_index("ix_mailings_status_next_run_at")
        batch_op.drop_index("ix_mailings_account_id")
    op.drop_table("mailings")

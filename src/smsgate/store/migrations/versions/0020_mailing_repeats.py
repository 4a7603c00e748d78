"""jobs.php fl[5]: one repeat of the failed messages of a mailing

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import smsgate.store.types

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_FAILED = "job_id IS NOT NULL AND status IN (3, 20, 25)"


def upgrade() -> None:
    time = smsgate.store.types.UnixTime(precision=53)
    op.create_table(
        "mailing_repeats",
        sa.Column(
            "message_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("mailing_id", sa.Integer(), nullable=False),
        sa.Column("repeat_of", sa.BigInteger(), nullable=True),
        sa.Column("created_at", time, nullable=False),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_mailing_repeats")),
    )
    with op.batch_alter_table("mailings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("retry_open", sa.Boolean(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("retry_floor", sa.BigInteger(), server_default="0", nullable=False)
        )
    # fl[5] mailings stored before: their failed messages are looked at once.
    op.execute(sa.text("UPDATE mailings SET retry_open = retry"))
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_messages_job_failed",
            ["job_id", "id"],
            unique=False,
            sqlite_where=sa.text(_FAILED),
            postgresql_where=sa.text(_FAILED),
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_job_failed")
    with op.batch_alter_table("mailings", schema=None) as batch_op:
        batch_op.drop_column("retry_floor")
        batch_op.drop_column("retry_open")
    op.drop_table("mailing_repeats")

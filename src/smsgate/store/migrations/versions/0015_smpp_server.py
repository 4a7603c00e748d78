"""SMPP server: receipt cursors, stored segments of concatenated messages, SMPP receipt requests

Revision ID: 0015
Revises: 0013
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import smsgate.store.types

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "smpp_receipt_cursors",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.Column("lease_node", sa.String(length=100), nullable=True),
        sa.Column("lease_until", smsgate.store.types.UnixTime(precision=53), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_smpp_receipt_cursors_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_smpp_receipt_cursors")),
    )
    op.create_table(
        "smpp_segments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("seq", sa.SmallInteger(), nullable=False),
        sa.Column("total", sa.SmallInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("received_at", smsgate.store.types.UnixTime(precision=53), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_smpp_segments_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_smpp_segments")),
        sa.UniqueConstraint(
            "account_id", "reference", "seq", name="uq_smpp_segments_reference_seq"
        ),
    )
    with op.batch_alter_table("smpp_segments", schema=None) as batch_op:
        batch_op.create_index("ix_smpp_segments_received_at", ["received_at"], unique=False)

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("smpp_receipt", sa.SmallInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("smpp_receipt")

    with op.batch_alter_table("smpp_segments", schema=None) as batch_op:
        batch_op.drop_index("ix_smpp_segments_received_at")

    op.drop_table("smpp_segments")
    op.drop_table("smpp_receipt_cursors")

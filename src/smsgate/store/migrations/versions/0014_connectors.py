"""upstream SMPP connectors: part ids, early receipts, connector leases

Revision ID: 0014
Revises: 0008
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import smsgate.store.types

revision = "0014"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_parts",
        sa.Column("connector", sa.String(length=64), nullable=False),
        sa.Column("provider_id", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", smsgate.store.types.UnixTime(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("connector", "provider_id", name=op.f("pk_message_parts")),
    )
    op.create_index("ix_message_parts_created_at", "message_parts", ["created_at"], unique=False)
    op.create_table(
        "early_receipts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("connector", sa.String(length=64), nullable=False),
        sa.Column("provider_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("err", sa.SmallInteger(), nullable=False),
        sa.Column("received_at", smsgate.store.types.UnixTime(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_early_receipts")),
    )
    op.create_index(
        "ix_early_receipts_connector_provider_id",
        "early_receipts",
        ["connector", "provider_id"],
        unique=False,
    )
    op.create_index(
        "ix_early_receipts_received_at", "early_receipts", ["received_at"], unique=False
    )
    op.create_table(
        "connector_leases",
        sa.Column("connector", sa.String(length=64), nullable=False),
        sa.Column("node", sa.String(length=64), nullable=False),
        sa.Column("until", smsgate.store.types.UnixTime(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("connector", name=op.f("pk_connector_leases")),
    )


def downgrade() -> None:
    op.drop_table("connector_leases")
    op.drop_index("ix_early_receipts_received_at", table_name="early_receipts")
    op.drop_index("ix_early_receipts_connector_provider_id", table_name="early_receipts")
    op.drop_table("early_receipts")
    op.drop_index("ix_message_parts_created_at", table_name="message_parts")
    op.drop_table("message_parts")

"""inbound numbers (receive_phones.php), parts of incoming messages, MO cursors of the SMPP server

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import smsgate.store.types

revision = "0018"
down_revision = "0016"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "inbound_numbers",
        sa.Column("phone", sa.String(length=15), nullable=False),
        sa.Column("country", sa.String(length=64), server_default="", nullable=False),
        sa.Column("cost", smsgate.store.types.Money(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("paid_till", smsgate.store.types.UnixTime(precision=53), nullable=True),
        sa.Column("noprolong", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("rented_at", smsgate.store.types.UnixTime(precision=53), nullable=True),
        sa.Column("created_at", smsgate.store.types.UnixTime(precision=53), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_inbound_numbers_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("phone", name=op.f("pk_inbound_numbers")),
    )
    op.create_index("ix_inbound_numbers_account_id", "inbound_numbers", ["account_id"])
    op.create_index("ix_inbound_numbers_paid_till", "inbound_numbers", ["paid_till"])
    op.create_table(
        "incoming_parts",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("connector", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("to_phone", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.Integer(), nullable=False),
        sa.Column("total", sa.SmallInteger(), nullable=False),
        sa.Column("seq", sa.SmallInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("received_at", smsgate.store.types.UnixTime(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incoming_parts")),
        sa.UniqueConstraint(
            "connector",
            "phone",
            "to_phone",
            "reference",
            "total",
            "seq",
            name="uq_incoming_parts_key",
        ),
    )
    op.create_index("ix_incoming_parts_received_at", "incoming_parts", ["received_at"])
    op.create_table(
        "smpp_mo_cursors",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("last_incoming_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_smpp_mo_cursors_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_smpp_mo_cursors")),
    )


def downgrade() -> None:
    op.drop_table("smpp_mo_cursors")
    op.drop_index("ix_incoming_parts_received_at", table_name="incoming_parts")
    op.drop_table("incoming_parts")
    op.drop_index("ix_inbound_numbers_paid_till", table_name="inbound_numbers")
    op.drop_index("ix_inbound_numbers_account_id", table_name="inbound_numbers")
    op.drop_table("inbound_numbers")

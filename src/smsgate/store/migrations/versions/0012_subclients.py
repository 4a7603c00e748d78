"""account management: sub-client policies, payments, templates, operator templates, sender codes

Revision ID: 0012
Revises: 0009
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import smsgate.store.types

revision = "0012"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_policies",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("share_type", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("dlim", sa.Integer(), nullable=True),
        sa.Column("plim", sa.Integer(), nullable=True),
        sa.Column("tlim", sa.Integer(), nullable=True),
        sa.Column("ilim", sa.Integer(), nullable=True),
        sa.Column("tmlim", sa.String(length=5), nullable=True),
        sa.Column("fmts", sa.Text(), server_default="", nullable=False),
        sa.Column("flags", sa.Text(), server_default="[]", nullable=False),
        sa.Column("profile", sa.Text(), server_default="{}", nullable=False),
        sa.Column("updated_at", smsgate.store.types.UnixTime(precision=53), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_account_policies_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_account_policies")),
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payer_id", sa.Integer(), nullable=False),
        sa.Column("payee_id", sa.Integer(), nullable=False),
        sa.Column("amount", smsgate.store.types.Money(), nullable=False),
        sa.Column("at", smsgate.store.types.UnixTime(precision=53), nullable=False),
        sa.ForeignKeyConstraint(
            ["payee_id"], ["accounts.id"], name=op.f("fk_payments_payee_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["payer_id"], ["accounts.id"], name=op.f("fk_payments_payer_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index("ix_payments_payee_id_at", ["payee_id", "at"], unique=False)
        batch_op.create_index("ix_payments_payer_id_at", ["payer_id", "at"], unique=False)
    op.create_table(
        "sender_codes",
        sa.Column("sender_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", smsgate.store.types.UnixTime(precision=53), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["sender_id"], ["senders.id"], name=op.f("fk_sender_codes_sender_id_senders")
        ),
        sa.PrimaryKeyConstraint("sender_id", name=op.f("pk_sender_codes")),
    )
    op.create_table(
        "templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("msg", sa.Text(), nullable=False),
        sa.Column("format", sa.String(length=8), server_default="", nullable=False),
        sa.Column("sender", sa.String(length=320), nullable=True),
        sa.Column("autosign", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("created_at", smsgate.store.types.UnixTime(precision=53), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_templates_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_templates")),
    )
    with op.batch_alter_table("templates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_templates_account_id"), ["account_id"], unique=False)
    op.create_table(
        "op_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("operator", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=4), nullable=False),
        sa.Column("msg", sa.Text(), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("created_at", smsgate.store.types.UnixTime(precision=53), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_op_templates_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_op_templates")),
    )
    with op.batch_alter_table("op_templates", schema=None) as batch_op:
        batch_op.create_index(
            "ix_op_templates_account_id_sender", ["account_id", "sender"], unique=False
        )
    op.create_table(
        "template_operators",
        sa.Column("operator", sa.String(length=200), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("operator", name=op.f("pk_template_operators")),
    )


def downgrade() -> None:
    op.drop_table("template_operators")
    with op.batch_alter_table("op_templates", schema=None) as batch_op:
        batch_op.drop_index("ix_op_templates_account_id_sender")
    op.drop_table("op_templates")
    with op.batch_alter_table("templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_templates_account_id"))
    op.drop_table("templates")
    op.drop_table("sender_codes")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_payer_id_at")
        batch_op.drop_index("ix_payments_payee_id_at")
    op.drop_table("payments")
    op.drop_table("account_policies")

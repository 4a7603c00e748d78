"""e-mail to SMS: per-account e-mail2sms settings

Revision ID: 0009
Revises: 0015
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import smsgate.store.types

revision = "0009"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "email2sms_settings",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("disabled", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("allow_no_subject", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("allow_no_text", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("allow_no_return_path", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("translit", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("phones_in_body", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("phones_in_address", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("max_length", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated_at", smsgate.store.types.UnixTime(precision=53), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_email2sms_settings_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_email2sms_settings")),
    )


def downgrade() -> None:
    op.drop_table("email2sms_settings")

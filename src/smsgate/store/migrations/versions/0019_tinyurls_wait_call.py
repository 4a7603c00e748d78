"""issue 7: short links (tinyurls.php, send.php tinyurl=1) and call confirmation (wait_call.php)

Revision ID: 0019
Revises: 0017
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import smsgate.store.types

revision = "0019"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_waits",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("created_at", smsgate.store.types.UnixTime(precision=53), nullable=False),
        sa.Column("expires_at", smsgate.store.types.UnixTime(precision=53), nullable=False),
        sa.Column("confirmed_at", smsgate.store.types.UnixTime(precision=53), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_call_waits_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_waits")),
    )
    with op.batch_alter_table("call_waits", schema=None) as batch_op:
        batch_op.create_index(
            "ix_call_waits_phone_expires_at", ["phone", "expires_at"], unique=False
        )

    op.create_table(
        "short_links",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("url_hash", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("created_at", smsgate.store.types.UnixTime(precision=53), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_short_links_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_short_links")),
        sa.UniqueConstraint(
            "account_id", "url_hash", name=op.f("uq_short_links_account_id_url_hash")
        ),
    )
    op.create_table(
        "short_link_clicks",
        sa.Column("link_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("clicks", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"], ["short_links.id"], name=op.f("fk_short_link_clicks_link_id_short_links")
        ),
        sa.PrimaryKeyConstraint("link_id", "day", name=op.f("pk_short_link_clicks")),
    )
    op.create_table(
        "short_link_codes",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("link_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("clicks", sa.Integer(), server_default="0", nullable=False),
        sa.Column("first_click_at", smsgate.store.types.UnixTime(precision=53), nullable=True),
        sa.ForeignKeyConstraint(
            ["link_id"], ["short_links.id"], name=op.f("fk_short_link_codes_link_id_short_links")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_short_link_codes")),
    )
    with op.batch_alter_table("short_link_codes", schema=None) as batch_op:
        batch_op.create_index("ix_short_link_codes_message_id", ["message_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("short_link_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_short_link_codes_message_id")

    op.drop_table("short_link_codes")
    op.drop_table("short_link_clicks")
    op.drop_table("short_links")
    with op.batch_alter_table("call_waits", schema=None) as batch_op:
        batch_op.drop_index("ix_call_waits_phone_expires_at")

    op.drop_table("call_waits")

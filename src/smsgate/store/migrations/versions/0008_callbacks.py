"""callbacks: deliveries, pending flag on events, ping.php task groups

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import smsgate.store.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("callback_pending", sa.Boolean(), server_default="1", nullable=False)
        )
        batch_op.create_index(
            "ix_events_callback_pending_id", ["callback_pending", "id"], unique=False
        )
    # Status changes from before callbacks existed are history, not news: nobody is called back
    # about them after an upgrade.
    events = sa.table("events", sa.column("callback_pending", sa.Boolean()))
    op.execute(events.update().values(callback_pending=sa.false()))

    op.create_table(
        "callback_deliveries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("state", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", smsgate.store.types.UnixTime(precision=53), nullable=False),
        sa.Column("next_attempt_at", smsgate.store.types.UnixTime(precision=53), nullable=False),
        sa.Column("give_up_at", smsgate.store.types.UnixTime(precision=53), nullable=False),
        sa.Column("lease_until", smsgate.store.types.UnixTime(precision=53), nullable=True),
        sa.Column("last_attempt_at", smsgate.store.types.UnixTime(precision=53), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_callback_deliveries_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_deliveries")),
    )
    with op.batch_alter_table("callback_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_callback_deliveries_state_next_attempt_at",
            ["state", "next_attempt_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_callback_deliveries_message_id", ["message_id", "id"], unique=False
        )
        batch_op.create_index(
            "ix_callback_deliveries_account_id", ["account_id", "id"], unique=False
        )

    op.create_table(
        "monitor_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("msg_type", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("sender", sa.String(length=64), nullable=True),
        sa.Column("phones", sa.Text(), nullable=False),
        sa.Column("fail_template", sa.Text(), nullable=False),
        sa.Column("ok_template", sa.Text(), nullable=False),
        sa.Column("quiet_s", sa.Integer(), server_default="300", nullable=False),
        sa.Column("created_at", smsgate.store.types.UnixTime(precision=53), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_monitor_groups_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor_groups")),
    )
    with op.batch_alter_table("monitor_groups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_monitor_groups_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "monitor_pings",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("sent_at", smsgate.store.types.UnixTime(precision=53), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["monitor_groups.id"],
            name=op.f("fk_monitor_pings_group_id_monitor_groups"),
        ),
        sa.PrimaryKeyConstraint("group_id", "fingerprint", name=op.f("pk_monitor_pings")),
    )


def downgrade() -> None:
    op.drop_table("monitor_pings")
    with op.batch_alter_table("monitor_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_monitor_groups_account_id"))
    op.drop_table("monitor_groups")
    with op.batch_alter_table("callback_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_callback_deliveries_account_id")
        batch_op.drop_index("ix_callback_deliveries_message_id")
        batch_op.drop_index("ix_callback_deliveries_state_next_attempt_at")
    op.drop_table("callback_deliveries")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_callback_pending_id")
        batch_op.drop_column("callback_pending")

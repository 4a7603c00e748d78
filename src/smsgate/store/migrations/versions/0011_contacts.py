"""contacts, contact groups, blacklist, incoming messages

Revision ID: 0011
Revises: 0012
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import smsgate.store.types

revision = "0011"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contact_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("num", sa.BigInteger(), nullable=True),
        sa.Column("name", sa.String(length=100), server_default="", nullable=False),
        sa.Column("kind", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("created_at", smsgate.store.types.UnixTime(precision=53), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_contact_groups_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_groups")),
        sa.UniqueConstraint("account_id", "num", name=op.f("uq_contact_groups_account_id_num")),
    )
    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=15), nullable=True),
        sa.Column("mail", sa.String(length=254), nullable=True),
        sa.Column("name", sa.String(length=100), server_default="", nullable=False),
        sa.Column("lnm", sa.String(length=100), server_default="", nullable=False),
        sa.Column("fnm", sa.String(length=100), server_default="", nullable=False),
        sa.Column("mnm", sa.String(length=100), server_default="", nullable=False),
        sa.Column("bd", sa.String(length=10), server_default="", nullable=False),
        sa.Column("myid", sa.String(length=100), server_default="", nullable=False),
        sa.Column("pho", sa.String(length=200), server_default="", nullable=False),
        sa.Column("tags", sa.Text(), server_default="", nullable=False),
        sa.Column("cmt", sa.Text(), server_default="", nullable=False),
        sa.Column("search", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", smsgate.store.types.UnixTime(precision=53), nullable=False),
        sa.Column("updated_at", smsgate.store.types.UnixTime(precision=53), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_contacts_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.UniqueConstraint("account_id", "phone", name=op.f("uq_contacts_account_id_phone")),
    )
    op.create_index("ix_contacts_account_id_mail", "contacts", ["account_id", "mail"])
    op.create_table(
        "contact_members",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_contact_members_contact_id_contacts")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["contact_groups.id"],
            name=op.f("fk_contact_members_group_id_contact_groups"),
        ),
        sa.PrimaryKeyConstraint("group_id", "contact_id", name=op.f("pk_contact_members")),
    )
    op.create_index("ix_contact_members_contact_id", "contact_members", ["contact_id"])
    op.create_table(
        "blacklist",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=15), nullable=False),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("created_at", smsgate.store.types.UnixTime(precision=53), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_blacklist_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", "phone", name=op.f("pk_blacklist")),
    )
    op.create_table(
        "incoming",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("to_phone", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("received_at", smsgate.store.types.UnixTime(precision=53), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_incoming_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incoming")),
    )
    op.create_index("ix_incoming_account_id_id", "incoming", ["account_id", "id"])
    op.create_index("ix_incoming_account_id_received_at", "incoming", ["account_id", "received_at"])


def downgrade() -> None:
    op.drop_table("incoming")
    op.drop_table("blacklist")
    op.drop_index("ix_contact_members_contact_id", table_name="contact_members")
    op.drop_table("contact_members")
    op.drop_index("ix_contacts_account_id_mail", table_name="contacts")
    op.drop_table("contacts")
    op.drop_table("contact_groups")

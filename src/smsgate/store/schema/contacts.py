"""Contacts, groups, blacklist and incoming messages (issue 7: phones.php, get.php)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from smsgate.store.schema.core import BigId, metadata
from smsgate.store.types import UnixTime

# --- contacts, blacklist, incoming messages (issue 7: phones.php, get.php) ---------------------

# Contact groups (http-api.md §6); a client sends to all members with ``G<num>`` (or ``G<id>``).
contact_groups = Table(
    "contact_groups",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    # Unique per account when given; several groups may have none (NULLs are distinct).
    Column("num", BigInteger, nullable=True),
    Column("name", String(100), nullable=False, server_default=""),
    # codes.md §9: 0 phone numbers, 1 e-mail addresses.
    Column("kind", SmallInteger, nullable=False, server_default="0"),
    Column("created_at", UnixTime, nullable=False),
    UniqueConstraint("account_id", "num"),
)

contacts = Table(
    "contacts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    # Normalised number without "+"; NULL for a contact of an e-mail group known by address only.
    Column("phone", String(15), nullable=True),
    Column("mail", String(254), nullable=True),
    Column("name", String(100), nullable=False, server_default=""),
    Column("lnm", String(100), nullable=False, server_default=""),
    Column("fnm", String(100), nullable=False, server_default=""),
    Column("mnm", String(100), nullable=False, server_default=""),
    # Birthday as DD.MM.YYYY, or empty.
    Column("bd", String(10), nullable=False, server_default=""),
    Column("myid", String(100), nullable=False, server_default=""),
    Column("pho", String(200), nullable=False, server_default=""),
    Column("tags", Text, nullable=False, server_default=""),
    Column("cmt", Text, nullable=False, server_default=""),
    # phone, name, mail and cmt case-folded, for ``search`` (LIKE on folded text behaves alike on
    # SQLite, whose lower() knows only ASCII, and on PostgreSQL).
    Column("search", Text, nullable=False, server_default=""),
    Column("created_at", UnixTime, nullable=False),
    Column("updated_at", UnixTime, nullable=False),
    UniqueConstraint("account_id", "phone"),
    Index("ix_contacts_account_id_mail", "account_id", "mail"),
)

contact_members = Table(
    "contact_members",
    metadata,
    Column("group_id", Integer, ForeignKey("contact_groups.id"), primary_key=True),
    Column("contact_id", Integer, ForeignKey("contacts.id"), primary_key=True),
    Index("ix_contact_members_contact_id", "contact_id"),
)

# Numbers an account does not send to (phones.php ``add_black``); kind 0 all messages, 1 mass
# mailings, 2 single messages (codes.md §9). Sending rejects them with status 23, err 250.
blacklist = Table(
    "blacklist",
    metadata,
    Column("account_id", Integer, ForeignKey("accounts.id"), primary_key=True),
    Column("phone", String(15), primary_key=True),
    Column("kind", SmallInteger, nullable=False),
    Column("created_at", UnixTime, nullable=False),
)

# Messages received for an account (get.php ``get_answers``): from ``phone`` to our ``to_phone``,
# with ``message_id`` the account's message it answers, when known.
incoming = Table(
    "incoming",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("phone", String(32), nullable=False),
    Column("to_phone", String(32), nullable=False),
    Column("text", Text, nullable=False),
    Column("received_at", UnixTime, nullable=False),
    Column("message_id", BigInteger, nullable=True),
    Index("ix_incoming_account_id_id", "account_id", "id"),
    Index("ix_incoming_account_id_received_at", "account_id", "received_at"),
)

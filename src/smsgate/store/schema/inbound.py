"""Inbound (rented) numbers and incoming messages on their way in and out (issues 5 and 7:
receive_phones.php, MO over SMPP)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
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
from smsgate.store.types import Money, UnixTime

# Numbers the platform admin offers for rent (receive_phones.php, http-api.md §12). A number is
# free while ``account_id`` is NULL; rented, it belongs to that account until ``paid_till`` (the
# start of the month after the last one paid), renewed on the 1st unless ``noprolong``.
inbound_numbers = Table(
    "inbound_numbers",
    metadata,
    Column("phone", String(15), primary_key=True),
    Column("country", String(64), nullable=False, server_default=""),
    Column("cost", Money, nullable=False),  # per month
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=True),
    Column("paid_till", UnixTime, nullable=True),
    Column("noprolong", Boolean, nullable=False, server_default="0"),
    Column("rented_at", UnixTime, nullable=True),
    Column("created_at", UnixTime, nullable=False),
    Index("ix_inbound_numbers_account_id", "account_id"),
    Index("ix_inbound_numbers_paid_till", "paid_till"),
)

# Parts of a concatenated incoming message received from an upstream connector, kept until the
# last part arrives (each part is stored before its deliver_sm_resp).
incoming_parts = Table(
    "incoming_parts",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("connector", String(64), nullable=False),
    Column("phone", String(32), nullable=False),
    Column("to_phone", String(32), nullable=False),
    Column("reference", Integer, nullable=False),
    Column("total", SmallInteger, nullable=False),
    Column("seq", SmallInteger, nullable=False),
    Column("text", Text, nullable=False),
    Column("received_at", UnixTime, nullable=False),
    UniqueConstraint(
        "connector", "phone", "to_phone", "reference", "total", "seq", name="uq_incoming_parts_key"
    ),
    Index("ix_incoming_parts_received_at", "received_at"),
)

# How far each account's incoming messages went out as deliver_sm over our SMPP server
# (protocols.md §3.8); moved only by the node holding the account's receipt cursor lease.
smpp_mo_cursors = Table(
    "smpp_mo_cursors",
    metadata,
    Column("account_id", Integer, ForeignKey("accounts.id"), primary_key=True),
    Column("last_incoming_id", BigInteger, nullable=False),
)

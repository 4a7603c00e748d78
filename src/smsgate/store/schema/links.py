"""Short links and call confirmation (issue 7: tinyurls.php, send.php ``tinyurl=1``, wait_call.php)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from smsgate.store.schema.core import BigId, metadata
from smsgate.store.types import UnixTime

# --- short links (http-api.md §2.1, §11) ---------------------------------------------------------

# One record per account and original URL (what tinyurls.php reports); every send of that URL with
# ``tinyurl=1`` shares it. ``url_hash`` (SHA-256 hex of the URL) keeps the unique index small.
short_links = Table(
    "short_links",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("url", Text, nullable=False),
    Column("url_hash", String(64), nullable=False),
    # The record's own short link (``<base>/l/<code>``): redirects and counts, names no message.
    Column("code", String(32), nullable=False),
    Column("created_at", UnixTime, nullable=False),
    UniqueConstraint("account_id", "url_hash"),
)

# One code per recipient message and URL (http-api.md §2.1: "unique per recipient"), and the
# record's own code with no message. ``code`` is globally unique: ``/l/<code>`` names one row.
short_link_codes = Table(
    "short_link_codes",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("link_id", BigInteger, ForeignKey("short_links.id"), nullable=False),
    Column("account_id", Integer, nullable=False),
    Column("message_id", BigInteger, nullable=True),
    Column("clicks", Integer, nullable=False, server_default="0"),
    Column("first_click_at", UnixTime, nullable=True),
    Index("ix_short_link_codes_message_id", "message_id"),
)

# Clicks of a record per calendar day in the account's zone (days since 1970-01-01): bounded growth
# however often a link is opened, and the month/today/yesterday counters are range sums.
short_link_clicks = Table(
    "short_link_clicks",
    metadata,
    Column("link_id", BigInteger, ForeignKey("short_links.id"), nullable=False),
    Column("day", Integer, nullable=False),
    Column("clicks", Integer, nullable=False, server_default="0"),
    PrimaryKeyConstraint("link_id", "day"),
)

# --- call confirmation (http-api.md §12) ---------------------------------------------------------

# A subscriber expected to call one of the platform's numbers until ``expires_at``. Among the waits
# still open, (phone, number) is unique across all accounts (services/wait_calls.py), so a call
# names at most one wait.
call_waits = Table(
    "call_waits",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("phone", String(32), nullable=False),
    Column("number", String(32), nullable=False),
    Column("created_at", UnixTime, nullable=False),
    Column("expires_at", UnixTime, nullable=False),
    Column("confirmed_at", UnixTime, nullable=True),
    Index("ix_call_waits_phone_expires_at", "phone", "expires_at"),
)

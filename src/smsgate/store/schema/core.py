"""The relational schema (SQLAlchemy Core). Alembic migrations under ``migrations/`` create it.

Conventions: times are Unix seconds (:class:`UnixTime`), money is :class:`Money` (exact Decimal),
and every table that a guard or limit reads is indexed for the exact query it runs.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from smsgate.store.types import Money, UnixTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}

metadata = MetaData(naming_convention=NAMING)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    # Logins are case-insensitive: stored lower-case.
    Column("login", String(64), nullable=False, unique=True),
    # argon2 over the lower-case MD5 hex of the password (http-api.md §1.2).
    Column("password_hash", String(255), nullable=False),
    # argon2 over the SMPP password itself (SMPP passwords are at most 8 characters).
    Column("smpp_password_hash", String(255), nullable=True),
    # Bumped whenever the password, an API key or the IP allow-list changes: cached verifications
    # made under an older version are dropped at once, on every node.
    Column("auth_version", Integer, nullable=False, server_default="1"),
    Column("balance", Money, nullable=False, server_default="0"),
    Column("credit_limit", Money, nullable=False, server_default="0"),
    Column("currency", String(3), nullable=False, server_default="RUR"),
    # Comma-separated CIDRs; empty means any address.
    Column("allowed_ips", Text, nullable=False, server_default=""),
    Column("test_mode", Boolean, nullable=False, server_default="0"),
    Column("disabled", Boolean, nullable=False, server_default="0"),
    Column("default_sender", String(64), nullable=True),
    Column("callback_url", Text, nullable=True),
    Column("callback_secret", String(128), nullable=True),
    Column("parent_id", Integer, ForeignKey("accounts.id"), nullable=True, index=True),
    # Time zone as minutes relative to Moscow (UTC+3), e.g. -60 for UTC+2.
    Column("tz_minutes", Integer, nullable=False, server_default="0"),
    Column("tariff_plan", Integer, nullable=False, server_default="0"),
    # Last client message id allocated for requests that gave none (http-api.md §2.1 ``id``).
    Column("last_request_id", BigInteger, nullable=False, server_default="0"),
    Column("created_at", UnixTime, nullable=False),
    Column("updated_at", UnixTime, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False, index=True),
    # SHA-256 hex of the key. Keys are 256-bit random tokens, so a fast hash is safe here and keeps
    # the lookup a single indexed equality match.
    Column("key_hash", String(64), nullable=False, unique=True),
    # The first characters of the key, to tell keys apart in listings.
    Column("prefix", String(16), nullable=False),
    Column("name", String(100), nullable=False, server_default=""),
    Column("created_at", UnixTime, nullable=False),
    Column("revoked_at", UnixTime, nullable=True),
)

tariffs = Table(
    "tariffs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("plan", Integer, nullable=False, server_default="0"),
    # ISO 3166-1 alpha-2 country, operator name, message type code; NULL = any.
    Column("country", String(2), nullable=True),
    Column("operator", String(100), nullable=True),
    Column("msg_type", Integer, nullable=True),
    Column("price", Money, nullable=False),
    Column("updated_at", UnixTime, nullable=False),
    UniqueConstraint("plan", "country", "operator", "msg_type"),
)

# --- guards: lockouts and rate limits, kept in the store so that they hold across nodes -----------

auth_failures = Table(
    "auth_failures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ip", String(45), nullable=False),
    Column("at", UnixTime, nullable=False),
    Index("ix_auth_failures_ip_at", "ip", "at"),
)

ip_blocks = Table(
    "ip_blocks",
    metadata,
    Column("ip", String(45), primary_key=True),
    Column("reason", String(32), nullable=False),
    Column("until", UnixTime, nullable=False),
)

# Consecutive failed send requests per IP (reset by a successful send).
send_failures = Table(
    "send_failures",
    metadata,
    Column("ip", String(45), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("first_at", UnixTime, nullable=False),
)

# Accepted requests per login and fingerprint, for the identical-request and per-endpoint limits.
request_log = Table(
    "request_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("login", String(64), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("at", UnixTime, nullable=False),
    Index("ix_request_log_login_fingerprint_at", "login", "fingerprint", "at"),
)

# Requests in progress per login and node (the 15-concurrent-requests limit). Each node counts its
# own in memory and publishes the counts here every second; a node that stopped publishing no longer
# counts once its rows are older than ``limits.concurrent_stale``.
node_inflight = Table(
    "node_inflight",
    metadata,
    Column("node", String(64), primary_key=True),
    Column("login", String(64), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("updated_at", UnixTime, nullable=False),
)

# Small facts about the installation (e.g. that the demo account was created).
meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# --- sending (issue 3) --------------------------------------------------------------------------

# SQLite makes only an INTEGER PRIMARY KEY an alias of the rowid (auto-increment).
BigId = BigInteger().with_variant(Integer, "sqlite")

messages = Table(
    "messages",
    metadata,
    # smsgate's global message number (``int_id`` in get.php, the SMPP message_id).
    Column("id", BigId, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    # The request id: the client's (integer or ≤ 40-character string) or allocated; shared by
    # every recipient of one request.
    Column("client_id", String(40), nullable=False),
    # Normalised number without "+", an e-mail address, or a Telegram @username / #chat id.
    Column("phone", String(320), nullable=False),
    Column("msg_type", SmallInteger, nullable=False),
    Column("sender", String(64), nullable=True),
    Column("text", Text, nullable=False),
    Column("comment", Text, nullable=True),
    Column("status", SmallInteger, nullable=False),
    Column("err", SmallInteger, nullable=False, server_default="0"),
    # Parts (SMS) or the type's count unit; ``sms_cnt`` in the API.
    Column("parts", Integer, nullable=False),
    Column("cost", Money, nullable=False),
    # 0 GSM 03.38, 1 UCS-2, 2 binary octets.
    Column("encoding", SmallInteger, nullable=False, server_default="0"),
    Column("country", String(2), nullable=True),
    Column("operator", String(100), nullable=True),
    Column("operator_orig", String(100), nullable=True),
    Column("region", String(200), nullable=True),
    Column("mccmnc", String(6), nullable=True),
    Column("test", Boolean, nullable=False, server_default="0"),
    # Channel options of the message kind as a JSON object of strings (subject, UDH, voice, …).
    Column("options", Text, nullable=True),
    Column("created_at", UnixTime, nullable=False),
    Column("updated_at", UnixTime, nullable=False),
    # When the dispatcher may take the message (scheduled time, period batch, retry backoff).
    Column("due_at", UnixTime, nullable=False),
    Column("valid_until", UnixTime, nullable=False),
    Column("deleted", Boolean, nullable=False, server_default="0"),
    # Dispatch: a claim is a lease until ``lease_until``; ``provider_id`` is the channel's id for
    # the message (the key of its receipts).
    # 0: voice codes and single transactional sends; 1: mailings (more than one recipient). The
    # dispatcher takes priority 0 first, so a campaign cannot delay somebody's single code.
    Column("priority", SmallInteger, nullable=False, server_default="0"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("lease_until", UnixTime, nullable=True),
    Column("connector", String(64), nullable=True),
    Column("provider_id", String(64), nullable=True),
    # Receipts received so far for the parts of the message, and the err of the first failed part.
    Column("parts_received", Integer, nullable=False, server_default="0"),
    Column("failed_err", SmallInteger, nullable=True),
    # An HLR request's answer: JSON object of imsi, msc, mcc, mnc, cn, net, rcn, rnet.
    Column("hlr", Text, nullable=True),
    # The mailing (jobs.php) this message belongs to: pausing or cancelling a mailing stops its
    # waiting messages (status -2) and resuming brings them back.
    Column("job_id", Integer, nullable=True),
    # Submitted over SMPP: the submit_sm's registered_delivery (receipts as deliver_sm,
    # protocols.md §3.7); None for every other ingress.
    Column("smpp_receipt", SmallInteger, nullable=True),
    Index("ix_messages_account_client_phone", "account_id", "client_id", "phone"),
    Index("ix_messages_status_priority_due", "status", "priority", "due_at"),
    Index("ix_messages_account_created", "account_id", "created_at"),
    Index("ix_messages_connector_provider", "connector", "provider_id"),
    # The waiting queue per account, for the dispatcher's fair share (repos/dispatch.py). Partial:
    # it holds only waiting messages, however long the history grows.
    Index(
        "ix_messages_waiting",
        "account_id",
        "priority",
        "due_at",
        "id",
        sqlite_where=text("status = -1"),
        postgresql_where=text("status = -1"),
    ),
    Index(
        "ix_messages_job",
        "job_id",
        "status",
        sqlite_where=text("job_id IS NOT NULL"),
        postgresql_where=text("job_id IS NOT NULL"),
    ),
    # The failed messages of mailings in id order, for the fl[5] repeat step (dispatch/mailing_repeats.py).
    Index(
        "ix_messages_job_failed",
        "job_id",
        "id",
        sqlite_where=text("job_id IS NOT NULL AND status IN (3, 20, 25)"),
        postgresql_where=text("job_id IS NOT NULL AND status IN (3, 20, 25)"),
    ),
)

senders = Table(
    "senders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("name", String(320), nullable=False),
    # codes.md §5.3: type 0 alphanumeric, 1 digital, 2 e-mail; status 0 pending, 1 active,
    # 2 rejected, 3 awaiting code confirmation.
    Column("kind", SmallInteger, nullable=False),
    Column("status", SmallInteger, nullable=False),
    Column("comment", Text, nullable=False, server_default=""),
    Column("created_at", UnixTime, nullable=False),
    UniqueConstraint("account_id", "name"),
)

# The numbering plan (Russian DEF-code registry format), imported by `smsgate numbering import`.
numbering_ranges = Table(
    "numbering_ranges",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", Integer, nullable=False),
    Column("range_start", Integer, nullable=False),
    Column("range_end", Integer, nullable=False),
    Column("operator", String(200), nullable=False),
    Column("region", String(200), nullable=False),
    Column("mcc", String(3), nullable=False),
    Column("mnc", String(3), nullable=False),
)

# Mobile number portability: a number served by another operator than its range says.
numbering_ports = Table(
    "numbering_ports",
    metadata,
    Column("phone", String(15), primary_key=True),
    Column("operator", String(200), nullable=False),
    Column("updated_at", UnixTime, nullable=False),
)

# --- dispatch (issue 4) -------------------------------------------------------------------------

# Every status change of a message after acceptance, written in the same transaction as the change;
# the callback sender (issue 8) delivers them.
events = Table(
    "events",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("message_id", BigInteger, nullable=False),
    Column("account_id", Integer, nullable=False),
    Column("status", SmallInteger, nullable=False),
    Column("err", SmallInteger, nullable=False),
    Column("at", UnixTime, nullable=False),
    # Not yet turned into a callback delivery (issue 8); cleared by the callback sender.
    Column("callback_pending", Boolean, nullable=False, server_default="1"),
    Index("ix_events_account_id", "account_id", "id"),
    Index("ix_events_callback_pending_id", "callback_pending", "id"),
)

# The route table (issue 4): which connector carries which messages, tried in ``position`` order.
routes = Table(
    "routes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("position", Integer, nullable=False),
    Column("connector", String(64), nullable=False),
    Column("msg_type", SmallInteger, nullable=True),
    Column("country", String(2), nullable=True),
    Column("operator", String(100), nullable=True),
    Column("prefix", String(15), nullable=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=True),
)


# SMPP receipts (protocols.md §3.7): how far each account's receipts have been delivered, read from
# the events table; the node holding the lease delivers them to its bound receivers.
smpp_receipt_cursors = Table(
    "smpp_receipt_cursors",
    metadata,
    Column("account_id", Integer, ForeignKey("accounts.id"), primary_key=True),
    Column("last_event_id", BigInteger, nullable=False),
    Column("lease_node", String(100), nullable=True),
    Column("lease_until", UnixTime, nullable=True),
)

# Segments of concatenated submit_sm (protocols.md §3.6), each stored before its submit_sm_resp;
# ``message_id`` is the placeholder message allocated at the first segment.
smpp_segments = Table(
    "smpp_segments",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("reference", String(200), nullable=False),
    Column("seq", SmallInteger, nullable=False),
    Column("total", SmallInteger, nullable=False),
    Column("message_id", BigInteger, nullable=False),
    Column("text", Text, nullable=False),
    Column("received_at", UnixTime, nullable=False),
    UniqueConstraint("account_id", "reference", "seq", name="uq_smpp_segments_reference_seq"),
    Index("ix_smpp_segments_received_at", "received_at"),
)

"""Tables of account management (issue 7) and e-mail2sms settings (issue 9)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Text,
)

from smsgate.store.schema.core import BigId, metadata
from smsgate.store.types import Money, UnixTime

# --- e-mail to SMS (issue 9) ---------------------------------------------------------------------

# Per-account switches of free-form e-mail2sms (protocols.md §2.4, users.php ``mfl[0..6]``,
# ``mlen``). No row: the defaults (e-mail2sms on, every optional form refused, no cut).
email2sms_settings = Table(
    "email2sms_settings",
    metadata,
    Column("account_id", Integer, ForeignKey("accounts.id"), primary_key=True),
    Column("disabled", Boolean, nullable=False, server_default="0"),
    Column("allow_no_subject", Boolean, nullable=False, server_default="0"),
    Column("allow_no_text", Boolean, nullable=False, server_default="0"),
    Column("allow_no_return_path", Boolean, nullable=False, server_default="0"),
    Column("translit", Boolean, nullable=False, server_default="0"),
    Column("phones_in_body", Boolean, nullable=False, server_default="0"),
    Column("phones_in_address", Boolean, nullable=False, server_default="0"),
    Column("max_length", Integer, nullable=False, server_default="0"),
    Column("updated_at", UnixTime, nullable=False),
)
# --- account management (issue 7): sub-clients, payments, templates, sender codes ---------------

# Settings of an account that users.php manages (http-api.md §7); a row exists once a setting was
# given. Limits are messages per day in the account's zone; NULL = no limit.
account_policies = Table(
    "account_policies",
    metadata,
    Column("account_id", Integer, ForeignKey("accounts.id"), primary_key=True),
    # users.php ``type`` (codes.md §9): 0 own tariff and balance, 1 main tariff + own balance,
    # 2 main tariff and balance, 3 main balance + own tariff, 4 additional login of the main account.
    Column("share_type", SmallInteger, nullable=False, server_default="0"),
    Column("dlim", Integer, nullable=True),
    Column("plim", Integer, nullable=True),
    Column("tlim", Integer, nullable=True),
    Column("ilim", Integer, nullable=True),
    # Allowed sending hours ``h1-h2`` in the account's zone.
    Column("tmlim", String(5), nullable=True),
    # Allowed number prefixes, ``-`` excludes (``7,-77``); empty = any.
    Column("fmts", Text, nullable=False, server_default=""),
    # ``fl[n]``/``fl2[n]``/``fl3[n]``/``mfl[n]`` flags that are set, as a JSON list of names.
    Column("flags", Text, nullable=False, server_default="[]"),
    # Settings stored but not acted on (fio, email, notes, …): a JSON object of strings.
    Column("profile", Text, nullable=False, server_default="{}"),
    Column("updated_at", UnixTime, nullable=False),
)

# Balance transfers between a main account and its sub-clients (users.php ``pay``).
payments = Table(
    "payments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("payer_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("payee_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("amount", Money, nullable=False),
    Column("at", UnixTime, nullable=False),
    Index("ix_payments_payee_id_at", "payee_id", "at"),
    Index("ix_payments_payer_id_at", "payer_id", "at"),
)

# The pending confirmation code of a digital or e-mail sender name (senders.php ``send_code``).
sender_codes = Table(
    "sender_codes",
    metadata,
    Column("sender_id", Integer, ForeignKey("senders.id"), primary_key=True),
    # SHA-256 hex of "<sender id>:<code>".
    Column("code_hash", String(64), nullable=False),
    Column("expires_at", UnixTime, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
)

# Message templates of an account (templates.php).
templates = Table(
    "templates",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("msg", Text, nullable=False),
    # codes.md §4.4 name; "" = any type.
    Column("format", String(8), nullable=False, server_default=""),
    Column("sender", String(320), nullable=True),
    # The account's auto-signature (``fl[1]``); at most one per account.
    Column("autosign", Boolean, nullable=False, server_default="0"),
    Column("created_at", UnixTime, nullable=False),
)

# Templates registered with operators per sender (op_templates.php); status codes.md §5.4.
op_templates = Table(
    "op_templates",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("sender", String(320), nullable=False),
    # Operator code of the registration flag: mts, mega, bee, tele2, motiv, soc.
    Column("operator", String(16), nullable=False),
    # srv, trn, auth, adv (codes.md §9).
    Column("kind", String(4), nullable=False),
    Column("msg", Text, nullable=False),
    Column("status", SmallInteger, nullable=False),
    Column("created_at", UnixTime, nullable=False),
    Index("ix_op_templates_account_id_sender", "account_id", "sender"),
)

# Operators (by their numbering-plan name) that take only messages matching an approved operator
# template of the sender, and the op_templates operator code whose templates apply (err 238).
template_operators = Table(
    "template_operators",
    metadata,
    Column("operator", String(200), primary_key=True),
    Column("code", String(16), nullable=False),
)

# --- e-mail channel (issue 9) --------------------------------------------------------------------

# Files attached to a mail=1 send.php request, stored once per request before its messages; each
# message names them in its options (``"att": "<id>,<id>"``, domain/email_delivery.py).
mail_attachments = Table(
    "mail_attachments",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("content_type", String(127), nullable=False),
    Column("size", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("created_at", UnixTime, nullable=False),
    Index("ix_mail_attachments_created_at", "created_at"),
)

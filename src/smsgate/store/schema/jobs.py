"""Background work on behalf of accounts: exports (issue 6), callbacks and ping.php (issue 8),
upstream SMPP connectors (issue 5), mailings (jobs.php)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
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

# --- exports (issue 6) --------------------------------------------------------------------------

# Deferred export tasks (downloads.php, http-api.md §13). A running task is leased to one runner
# (``runner``, ``lease_until``); ``attempts`` numbers the runs, and only the run whose number is
# still current may record progress or the result, so a task taken over is never finished twice.
export_tasks = Table(
    "export_tasks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("name", String(100), nullable=False),
    # Filters: messages created in [period_start, period_end), optionally only these recipients,
    # statuses and types (comma lists; empty: any).
    Column("period_start", UnixTime, nullable=False),
    Column("period_end", UnixTime, nullable=False),
    Column("phones", Text, nullable=False, server_default=""),
    Column("statuses", String(200), nullable=False, server_default=""),
    Column("types", String(200), nullable=False, server_default=""),
    # The file's character set: the ``charset`` of the request that created the task.
    Column("charset", String(16), nullable=False),
    # codes.md §5.1: 0 waiting, 1 running, 2 done, 3 cancelled, 4 failed.
    Column("status", SmallInteger, nullable=False),
    Column("created_at", UnixTime, nullable=False),
    Column("started_at", UnixTime, nullable=True),
    Column("finished_at", UnixTime, nullable=True),
    Column("file_name", String(64), nullable=True),
    # Set when retention removed the file (downloads then answer error 5).
    Column("file_removed_at", UnixTime, nullable=True),
    # Matching messages counted when the run started, and rows written so far (the progress).
    Column("rows_expected", BigInteger, nullable=False, server_default="0"),
    Column("rows_written", BigInteger, nullable=False, server_default="0"),
    Column("error", Text, nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    # The node that ran (or runs) the task.
    Column("runner", String(64), nullable=True),
    Column("lease_until", UnixTime, nullable=True),
    Index("ix_export_tasks_account_id", "account_id", "id"),
    Index("ix_export_tasks_status_lease_until", "status", "lease_until"),
)

# --- callbacks and ping.php (issue 8) ------------------------------------------------------------

# One callback to an account's handler: its fields (JSON list of [name, value], signed at send time)
# and its delivery state. ``message_id`` orders the callbacks of one message: a callback is not tried
# while an older one of the same message is still pending.
callback_deliveries = Table(
    "callback_deliveries",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    # 0 status, 1 incoming SMS, 2 call confirmation (domain/callbacks.py CallbackKind).
    Column("kind", SmallInteger, nullable=False),
    Column("event_id", BigInteger, nullable=True),
    Column("message_id", BigInteger, nullable=True),
    Column("fields", Text, nullable=False),
    # 0 pending, 1 delivered, 2 failed (given up).
    Column("state", SmallInteger, nullable=False, server_default="0"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("created_at", UnixTime, nullable=False),
    Column("next_attempt_at", UnixTime, nullable=False),
    # Retried until this time, then given up (``callbacks.max_age`` after creation or a retry).
    Column("give_up_at", UnixTime, nullable=False),
    Column("lease_until", UnixTime, nullable=True),
    Column("last_attempt_at", UnixTime, nullable=True),
    # The last try's HTTP status (none for a network error) and a short excerpt of what went wrong.
    Column("last_status", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Index("ix_callback_deliveries_state_next_attempt_at", "state", "next_attempt_at"),
    Index("ix_callback_deliveries_message_id", "message_id", "id"),
    Index("ix_callback_deliveries_account_id", "account_id", "id"),
)

# ping.php task groups: templates for failure and recovery sent to a list of contacts.
monitor_groups = Table(
    "monitor_groups",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("msg_type", SmallInteger, nullable=False, server_default="0"),
    Column("sender", String(64), nullable=True),
    # Comma-separated phones (or addresses, for the e-mail type).
    Column("phones", Text, nullable=False),
    Column("fail_template", Text, nullable=False),
    Column("ok_template", Text, nullable=False),
    # The same ping again within this many seconds is not sent again.
    Column("quiet_s", Integer, nullable=False, server_default="300"),
    Column("created_at", UnixTime, nullable=False),
)

# The last time each distinct ping (ok, name, host, info) of a group was sent.
monitor_pings = Table(
    "monitor_pings",
    metadata,
    Column("group_id", Integer, ForeignKey("monitor_groups.id"), primary_key=True),
    Column("fingerprint", String(64), primary_key=True),
    Column("sent_at", UnixTime, nullable=False),
)

# --- issue 5: upstream SMPP connectors (migration 0014) ------------------------------------------
# The ids of the second and later parts of messages sent as separate submit_sm (the first part's id
# is ``messages.provider_id``), so that a receipt naming any part finds its message. Kept 72 h.
message_parts = Table(
    "message_parts",
    metadata,
    Column("connector", String(64), primary_key=True),
    Column("provider_id", String(64), primary_key=True),
    Column("message_id", BigInteger, nullable=False),
    Column("created_at", UnixTime, nullable=False),
    Index("ix_message_parts_created_at", "created_at"),
)

# Receipts that arrived before the hand-over of their message was recorded (a fast SMSC answers
# deliver_sm before our record of its submit_sm_resp commits); applied when it is, dropped after 72 h.
early_receipts = Table(
    "early_receipts",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("connector", String(64), nullable=False),
    Column("provider_id", String(64), nullable=False),
    Column("state", String(8), nullable=False),
    Column("err", SmallInteger, nullable=False),
    Column("received_at", UnixTime, nullable=False),
    Index("ix_early_receipts_connector_provider_id", "connector", "provider_id"),
    Index("ix_early_receipts_received_at", "received_at"),
)

# Which node runs a connector's binds: one owner at a time, renewed before ``until``.
connector_leases = Table(
    "connector_leases",
    metadata,
    Column("connector", String(64), primary_key=True),
    Column("node", String(64), nullable=False),
    Column("until", UnixTime, nullable=False),
)
# --- end issue 5 ---------------------------------------------------------------------------------

# --- mailings (jobs.php, http-api.md §5) ---------------------------------------------------------
# One row per mailing: its send parameters packed (domain/mailings.py ``pack``), its schedule and
# the state of its current run. A run is expanded into messages by the scheduler under a lease
# (``runner``, ``lease_until``, ``claim``); each batch advances ``run_done`` on the condition that
# the claim is still current and ``run_done`` unchanged, so a run is never expanded twice.
mailings = Table(
    "mailings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("name", String(100), nullable=False),
    # codes.md §5.2: 0 waiting, 1 running, 2 completed, 3 cancelled, 4 failed.
    Column("status", SmallInteger, nullable=False),
    Column("created_at", UnixTime, nullable=False),
    Column("updated_at", UnixTime, nullable=False),
    # The first run (the anchor of the repeats) and the next one (none once finished).
    Column("first_run_at", UnixTime, nullable=False),
    Column("next_run_at", UnixTime, nullable=True),
    Column("rpt", SmallInteger, nullable=False, server_default="0"),
    Column("rptn", Integer, nullable=True),
    Column("msg_type", SmallInteger, nullable=False),
    Column("sender", String(64), nullable=True),
    # The text shown by get (``mes``, or the template's); empty for ``list`` mailings.
    Column("mes", Text, nullable=False),
    Column("request", LargeBinary, nullable=False),
    Column("cnt", Integer, nullable=False),
    Column("test", Boolean, nullable=False, server_default="0"),
    # fl[5]: one repeat of undelivered recipients with sender2/mes2 (see the docs).
    Column("retry", Boolean, nullable=False, server_default="0"),
    Column("sender2", String(64), nullable=True),
    Column("mes2", Text, nullable=True),
    # fl[5] repeats (dispatch/mailing_repeats.py): set with every claim of an fl[5] mailing, cleared
    # once none of its messages can still fail unrepeated; messages up to ``retry_floor`` were all
    # settled when it was last cleared (the repeat step looks above it only).
    Column("retry_open", Boolean, nullable=False, server_default="0"),
    Column("retry_floor", BigInteger, nullable=False, server_default="0"),
    # Runs started; the current (or last) run's request id, entries and entries expanded so far.
    Column("runs", Integer, nullable=False, server_default="0"),
    Column("run_id", String(40), nullable=True),
    Column("run_at", UnixTime, nullable=True),
    Column("run_open", Boolean, nullable=False, server_default="0"),
    Column("run_total", Integer, nullable=False, server_default="0"),
    Column("run_done", Integer, nullable=False, server_default="0"),
    Column("run_cost", Money, nullable=False, server_default="0"),
    Column("run_broke", Boolean, nullable=False, server_default="0"),
    # resume=1: the stopped messages are to be charged and released again before the run goes on.
    Column("resume", Boolean, nullable=False, server_default="0"),
    Column("runner", String(64), nullable=True),
    Column("claim", String(32), nullable=True),
    Column("lease_until", UnixTime, nullable=True),
    Column("error", Text, nullable=True),
    # del=1 keeps the row (its messages keep their ``job_id``, which must never name another job).
    Column("deleted", Boolean, nullable=False, server_default="0"),
    Index("ix_mailings_account_id", "account_id", "id"),
    Index("ix_mailings_status_next_run_at", "status", "next_run_at"),
)
# fl[5] (http-api.md §5): the messages of fl[5] mailings whose repeat is settled, written in the same
# transaction as the repeat. An original failed with 3, 20 or 25 gets a row when its repeat is stored
# (or when it cannot be, e.g. sender2 refused); a repeat gets one with ``repeat_of`` at once, so it is
# never repeated. The primary key makes a repeat exactly once whatever the number of repeat steps.
mailing_repeats = Table(
    "mailing_repeats",
    metadata,
    Column("message_id", BigId, primary_key=True, autoincrement=False),
    Column("mailing_id", Integer, nullable=False),
    Column("repeat_of", BigInteger, nullable=True),
    Column("created_at", UnixTime, nullable=False),
)

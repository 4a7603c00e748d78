"""Settings sections of the features that run beside the core: exports (issue 6), callbacks
(issue 8), upstream SMPP connectors (issue 5) and the e-mail channel (issue 9)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from smsgate.config.units import Seconds


# --- exports (issue 6) ---
@dataclass(frozen=True, slots=True)
class ExportSettings:
    """Deferred exports behind downloads.php (http-api.md §13)."""

    # Where finished files live; empty: ``<data_dir>/exports``. Several nodes serving downloads
    # must share it (a node answers error 5 for a file it cannot see).
    dir: str = ""
    # Files are removed this long after their task finished (the task stays, status 2).
    retention_days: int = 7
    # How often the runner looks for waiting tasks.
    poll_interval: Seconds = Seconds(2)
    # A running task whose runner has not renewed its lease for this long is taken over.
    lease: Seconds = Seconds(60)
    # Messages read from the store per query; memory use of a running export is bounded by it.
    batch_rows: int = 5000
    # Tasks one node runs at once (never two of one account).
    workers: int = 2
    # A task whose runner died this many times is marked failed instead of being run again.
    max_attempts: int = 3
    # Tasks an account may have waiting or running; one more is refused with error 9.
    max_queued: int = 20


# --- end exports ---


@dataclass(frozen=True, slots=True)
class CallbacksSettings:
    """Callbacks to clients' handlers (http-api.md §14) and ping.php (issue 8)."""

    # Handlers on loopback, link-local and private addresses are refused unless the platform
    # admin allows them (server-side request forgery).
    allow_private_networks: bool = False
    connect_timeout: Seconds = Seconds(5)
    # Whole-request bound: a handler slower than this has failed (http-api.md §14: 10 s).
    timeout: Seconds = Seconds(10)
    # Retried for at least this long, then given up and shown as failed.
    max_age: Seconds = Seconds(86400)
    # Callbacks in flight at once: in total and to one handler URL.
    concurrency: int = 256
    per_url_concurrency: int = 32
    # After this many failures in a row a handler rests for ``breaker_rest`` (doubling while it
    # keeps failing, up to 1 h) so that it does not hold up the others.
    breaker_failures: int = 5
    breaker_rest: Seconds = Seconds(30)
    batch: int = 500


# --- short links and call confirmation (issue 7: tinyurls.php, wait_call.php) ---
@dataclass(frozen=True, slots=True)
class LinkSettings:
    """Tracked short links of ``tinyurl=1`` sends (http-api.md §2.1, §11)."""

    # Where ``/l/<code>`` is reachable from the recipients' phones; empty: the HTTP listener
    # (``http://<bind_host>:<http.port>``), which only suits a demo.
    base_url: str = ""
    # Base62 characters per code (6..24): 8 gives 62^8 ≈ 2·10^14 codes.
    code_length: int = 8


@dataclass(frozen=True, slots=True)
class WaitCallSettings:
    """Call confirmation, wait_call.php (http-api.md §12)."""

    # The platform's numbers subscribers call (comma-separated); empty: wait_call.php answers 1.
    numbers: str = ""
    # A wait ends this long after it was (last) asked for.
    ttl: Seconds = Seconds(600)
    # The voice provider signs ``POST /providers/calls/incoming`` with HMAC-SHA256 under this
    # secret; empty: the endpoint is off (404).
    provider_secret: str = ""
    # An incoming-call event whose ``time`` is further than this from now is refused (replays).
    max_skew: Seconds = Seconds(300)


# --- end short links and call confirmation ---


# --- upstream SMPP connectors (issue 5, egress) ----------------------------------------------
@dataclass(frozen=True, slots=True)
class SmppBindConfig:
    """One bind of an upstream connector: ``[[connectors.binds]]`` (channels/smpp/settings.py)."""

    host: str = "127.0.0.1"
    port: int = 2775
    system_id: str = ""
    password: str = ""
    # transceiver | transmitter | receiver (a transmitter+receiver pair is two binds)
    mode: str = "transceiver"
    system_type: str = ""
    tls: bool = False
    tls_verify: bool = True
    tls_ca: str = ""
    source_ton: int = 5
    source_npi: int = 0
    dest_ton: int = 1
    dest_npi: int = 1
    # auto (GSM-7, else UCS-2) | ucs2 | latin1
    coding: str = "auto"
    window: int = 10
    tps: Decimal = Decimal(0)
    enquire_link: Seconds = Seconds(30)
    response_timeout: Seconds = Seconds(30)
    connect_timeout: Seconds = Seconds(10)
    reconnect_min: Seconds = Seconds(1)
    reconnect_max: Seconds = Seconds(60)
    throttle_backoff: Seconds = Seconds(1)
    throttle_backoff_max: Seconds = Seconds(60)


@dataclass(frozen=True, slots=True)
class SmppConnectorConfig:
    """An upstream SMPP connector: ``[[connectors]]`` with its ``[[connectors.binds]]``."""

    name: str = ""
    binds: tuple[SmppBindConfig, ...] = ()
    # udh | sar | payload
    long_messages: str = "udh"
    # text | decimal | hex: how the SMSC writes ids in submit_sm_resp and in receipts
    submit_id_format: str = "text"
    receipt_id_format: str = "text"
    registered_delivery: int = 1
    part_retries: int = 3
    # command_status values meaning "no route here" (failover to the next connector)
    route_statuses: str = "0x50, 0x51"


# --- end upstream SMPP connectors ----------------------------------------------------------


# --- e-mail channel (issue 9) ---
EMAIL_TLS_MODES = ("none", "starttls", "implicit")


@dataclass(frozen=True, slots=True)
class EmailSettings:
    """The e-mail delivery channel (channels/email): the SMTP relay type-8 messages go through.

    The channel exists only when ``host`` is set. ``tls``: ``none``, ``starttls`` or ``implicit``
    (port 465 style); ``default_from`` is the From of mails whose sender is not an e-mail address.
    ``tps``/``window`` pace the connector like any other (dispatch/connectors.py); ``pool_size``
    connections are kept open and reused. ``reconnect`` is how long a relay that refused a
    connection is left alone before the next hand-over tries it again. Open tracking (an opened
    HTML mail → status 2) is on when ``track_url`` (the public base URL of the HTTP listener) and
    ``track_secret`` (shared by every node) are both set. ``max_attachments`` caps the octets of
    the files attached to one send.php request, those fetched from ``fileurl`` included: each
    fetch has ``fileurl_timeout`` and may reach private networks only with
    ``fileurl_allow_private_networks`` (channels/file_fetch.py).
    """

    host: str = ""
    port: int = 25
    tls: str = "none"
    # Verify the relay's certificate (turn off only for a relay with a self-signed certificate).
    verify_tls: bool = True
    username: str = ""
    password: str = ""
    default_from: str = ""
    # The name the channel gives in EHLO; empty: the machine's name.
    helo_name: str = ""
    tps: Decimal = Decimal(0)
    window: int = 100
    pool_size: int = 2
    connect_timeout: Seconds = Seconds(10)
    timeout: Seconds = Seconds(60)
    reconnect: Seconds = Seconds(30)
    track_url: str = ""
    track_secret: str = ""
    max_attachments: int = 5 * 1024 * 1024
    fileurl_timeout: Seconds = Seconds(10)
    fileurl_allow_private_networks: bool = False


# --- end e-mail channel ---

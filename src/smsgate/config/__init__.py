"""Settings: one TOML file plus ``SMSGATE_*`` environment overrides.

Every key ``section.key`` of the file can be overridden by the environment variable
``SMSGATE_SECTION_KEY`` (``database.url`` ← ``SMSGATE_DATABASE_URL``, ``http.port`` ←
``SMSGATE_HTTP_PORT``); top-level keys by ``SMSGATE_KEY`` (``bind_host`` ← ``SMSGATE_BIND_HOST``).
The file comes from ``--config`` or ``SMSGATE_CONFIG``; without one the defaults apply.

Everything is validated at start-up; the first problem stops it with a :class:`ConfigError` naming the
key. Settings are frozen dataclasses and each component is handed only its own slice.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Union

from smsgate.config.features import (
    EMAIL_TLS_MODES,
    CallbacksSettings,
    EmailSettings,
    ExportSettings,
    LinkSettings,
    SmppBindConfig,
    SmppConnectorConfig,
    WaitCallSettings,
)
from smsgate.config.units import Seconds
from smsgate.errors import ConfigError

ENV_PREFIX = "SMSGATE_"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    url: str = ""
    # FULL: a commit survives power loss, not only a process crash. Group commit keeps the cost low.
    sqlite_synchronous: str = "FULL"
    sqlite_busy_timeout: Seconds = Seconds(10)
    pool_size: int = 10
    # Group-commit writer: largest batch of writes per transaction and the bound of its queue.
    writer_max_batch: int = 1000
    writer_queue: int = 20000


@dataclass(frozen=True, slots=True)
class HttpSettings:
    port: int = 8000
    # Optional HTTPS listener: certificate chain and key in PEM; port 0 picks a free port.
    tls_port: int | None = None
    tls_cert: str = ""
    tls_key: str = ""
    max_body: int = 10 * 1024 * 1024
    # Trust X-Forwarded-For from these proxy addresses only (comma-separated CIDRs).
    trusted_proxies: str = ""


@dataclass(frozen=True, slots=True)
class SmppSettings:
    """The SMPP server (protocols.md §3)."""

    port: int = 2775
    # Optional TLS listener: certificate chain and key in PEM; on 3550 unless tls_port is set (0
    # picks a free port).
    tls_port: int | None = None
    tls_cert: str = ""
    tls_key: str = ""
    system_id: str = "smsgate"
    max_sessions: int = 10
    idle_timeout: Seconds = Seconds(120)
    window: int = 100
    # submit_sm per second per account over all its sessions; 0 = unlimited.
    max_rate: int = 0
    reassembly_timeout: Seconds = Seconds(300)
    dlr_retention: Seconds = Seconds(72 * 3600)


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """The SMTP ingress, e-mail to SMS (protocols.md §2)."""

    port: int = 2525
    # With a certificate chain and key (PEM), STARTTLS is offered on ``port`` and ``tls_port`` (when
    # set; 0 picks a free port) listens with implicit TLS.
    tls_port: int | None = None
    tls_cert: str = ""
    tls_key: str = ""
    # SMTP AUTH is offered only on an encrypted connection unless this is false.
    auth_require_tls: bool = True
    # The name in the greeting and the EHLO reply.
    hostname: str = "smsgate"
    # Largest message in octets (advertised as SIZE); larger ones get 552 5.3.4.
    max_message: int = 102400
    max_recipients: int = 100
    # An idle connection is closed after this long.
    timeout: Seconds = Seconds(300)


@dataclass(frozen=True, slots=True)
class AuthSettings:
    # Successful verifications are cached this long (keyed by an HMAC of login and secret).
    cache_ttl: Seconds = Seconds(60)
    cache_size: int = 10000
    # Account rows are re-read at most this often (a change on another node shows within it).
    account_cache_ttl: Seconds = Seconds(1)
    argon2_time_cost: int = 3
    argon2_memory_cost_kib: int = 65536
    argon2_parallelism: int = 2


@dataclass(frozen=True, slots=True)
class LimitsSettings:
    """Per-endpoint request limits (http-api.md §1.7); all windows are sliding 60 s."""

    window: Seconds = Seconds(60)
    send_identical: int = 1
    cost_identical: int = 5
    status_same: int = 5
    status_bulk: int = 1
    balance: int = 10
    jobs_identical: int = 1
    price_identical: int = 3
    operator_identical: int = 3
    operator_any: int = 100
    senders_identical: int = 3
    user_change: int = 3
    download_identical: int = 3
    concurrent: int = 15
    # Nodes publish their requests in progress this often; a node silent for ``concurrent_stale``
    # is taken to be gone and its requests no longer count.
    concurrent_publish: Seconds = Seconds(1)
    concurrent_stale: Seconds = Seconds(10)
    per_number_burst: int = 50
    per_number_gap: Seconds = Seconds(30)


@dataclass(frozen=True, slots=True)
class LockoutSettings:
    """IP lockouts (http-api.md §1.7)."""

    auth_failures: int = 5
    window: Seconds = Seconds(1800)
    duration: Seconds = Seconds(1800)
    failed_sends: int = 100
    failed_sends_window: Seconds = Seconds(600)
    failed_sends_duration: Seconds = Seconds(600)


@dataclass(frozen=True, slots=True)
class BillingSettings:
    currency: str = "RUR"


@dataclass(frozen=True, slots=True)
class LogSettings:
    level: str = "INFO"
    # "json" for machines, "text" for people at a terminal.
    format: str = "json"


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """The built-in operator simulator (channels/simulator.py)."""

    latency: Seconds = Seconds(0)
    latency_jitter: Seconds = Seconds(0)
    test_delay: Seconds = Seconds(1)
    delivery_ratio: Decimal = Decimal(1)
    seed: int = 0
    # Outcome rules by recipient pattern, first match wins (e.g. "*0=undeliv:1, *9=silent").
    rules: str = "*0=undeliv:1, *9=silent, *8=undeliv:6"
    # The simulated operator's durable log of hand-overs; empty: kept in memory only.
    log: str = ""
    # Pacing of the simulator connector: messages a second (0: unlimited) and in one hand-over.
    tps: Decimal = Decimal(0)
    window: int = 1000


@dataclass(frozen=True, slots=True)
class RuntimeSettings:
    # How long a thread may hold the GIL while another waits (CPython's default is 5 ms).
    gil_switch_interval_us: int = 500
    # Gateway processes on this machine (``smsgate run --workers``): one Python process uses one
    # core, so a machine with more cores runs several, each a node of its own (cli/workers.py).
    workers: int = 1
    # Listen with SO_REUSEPORT, so that several processes share the listeners' ports and the kernel
    # spreads connections over them. Set for the workers; also for a supervisor of one's own.
    reuse_port: bool = False


@dataclass(frozen=True, slots=True)
class Settings:
    bind_host: str = "127.0.0.1"
    # Where the default SQLite file and other runtime files live.
    data_dir: str = "var"
    node_id: str = ""
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    smpp: SmppSettings = field(default_factory=SmppSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    limits: LimitsSettings = field(default_factory=LimitsSettings)
    lockout: LockoutSettings = field(default_factory=LockoutSettings)
    billing: BillingSettings = field(default_factory=BillingSettings)
    log: LogSettings = field(default_factory=LogSettings)
    runtime: RuntimeSettings = field(default_factory=RuntimeSettings)
    simulator: SimulatorConfig = field(default_factory=SimulatorConfig)
    exports: ExportSettings = field(default_factory=ExportSettings)  # issue 6
    callbacks: CallbacksSettings = field(default_factory=CallbacksSettings)  # issue 8
    connectors: tuple[SmppConnectorConfig, ...] = ()  # issue 5: [[connectors]] (no env overrides)

    email: EmailSettings = field(default_factory=EmailSettings)  # e-mail channel (issue 9)
    links: LinkSettings = field(default_factory=LinkSettings)  # tinyurls.php (issue 7)
    wait_call: WaitCallSettings = field(default_factory=WaitCallSettings)  # wait_call.php (issue 7)


def load_settings(
    config_path: str | Path | None, environ: Mapping[str, str], *, cwd: Path | None = None
) -> Settings:
    """Read the TOML file (if any), apply environment overrides, validate, and resolve defaults.

    ``environ`` is passed in (not read from ``os.environ``) so tests can hand in a plain dict.
    """
    cwd = cwd or Path.cwd()
    path = config_path or environ.get(ENV_PREFIX + "CONFIG") or None
    raw: dict[str, Any] = {}
    if path:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError("config", f"file not found: {path}") from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError("config", f"{path} is not valid TOML: {exc}") from exc
    settings = _build(Settings, raw, environ, prefix="")
    return _validate(settings, cwd)


def _build(cls: type[Any], raw: Mapping[str, Any], environ: Mapping[str, str], prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in names:
            raise ConfigError(prefix + key, "unknown setting")
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        dotted = prefix + f.name
        hint = hints[f.name]
        if _is_table_array(hint):  # issue 5: [[connectors]]-style arrays of tables
            values[f.name] = _build_array(hint, raw.get(f.name, []), dotted)
            continue
        if dataclasses.is_dataclass(hint):
            section = raw.get(f.name, {})
            if not isinstance(section, dict):
                raise ConfigError(dotted, "expected a table")
            values[f.name] = _build(typing.cast(type[Any], hint), section, environ, dotted + ".")
            continue
        env_name = ENV_PREFIX + dotted.replace(".", "_").upper()
        if env_name in environ:
            values[f.name] = _coerce(environ[env_name], hint, f"{dotted} ({env_name})")
        elif f.name in raw:
            values[f.name] = _coerce(raw[f.name], hint, dotted)
    return cls(**values)


def _is_table_array(hint: Any) -> bool:
    args = typing.get_args(hint)
    return (
        typing.get_origin(hint) is tuple
        and len(args) == 2
        and args[1] is Ellipsis
        and dataclasses.is_dataclass(args[0])
    )


def _build_array(hint: Any, raw: Any, key: str) -> tuple[Any, ...]:
    """An array of tables (``[[connectors]]``); the environment does not override its items."""
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise ConfigError(key, "expected an array of tables")
    item_cls = typing.get_args(hint)[0]
    return tuple(_build(item_cls, item, {}, f"{key}[{i}].") for i, item in enumerate(raw))


def _coerce(value: Any, hint: Any, key: str) -> Any:  # noqa: C901 - one branch per setting type
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.strip() == ""):
            return None
        return _coerce(value, args[0], key)
    if hint is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ConfigError(key, f"expected true or false, got {value!r}")
    if hint is int:
        if isinstance(value, bool):
            raise ConfigError(key, f"expected an integer, got {value!r}")
        try:
            return int(str(value).strip())
        except ValueError:
            raise ConfigError(key, f"expected an integer, got {value!r}") from None
    if hint is Seconds:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return Seconds(value)
        match = _DURATION.match(str(value))
        if not match:
            raise ConfigError(key, f"expected a duration such as 30s, 10m or 1h, got {value!r}")
        return Seconds(float(match.group(1)) * _DURATION_UNITS[match.group(2)])
    if hint is Decimal:
        try:
            return Decimal(str(value))
        except InvalidOperation:
            raise ConfigError(key, f"expected a decimal number, got {value!r}") from None
    if hint is str:
        if not isinstance(value, str | int | float):
            raise ConfigError(key, f"expected a string, got {value!r}")
        return str(value)
    raise ConfigError(key, f"unsupported setting type {hint!r}")  # pragma: no cover


def normalise_database_url(url: str) -> str:
    """Accept plain ``sqlite:///`` and ``postgresql://`` URLs as their async-driver forms."""
    for plain, driver in (
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


def _validate(settings: Settings, cwd: Path) -> Settings:
    data_dir = Path(settings.data_dir)
    if not data_dir.is_absolute():
        data_dir = cwd / data_dir
    url = settings.database.url.strip()
    if not url:
        url = f"sqlite+aiosqlite:///{data_dir / 'smsgate.db'}"
    url = normalise_database_url(url)
    if not url.startswith(("sqlite+aiosqlite:///", "postgresql+asyncpg://")):
        raise ConfigError(
            "database.url (SMSGATE_DATABASE_URL)",
            "expected sqlite[+aiosqlite]:///path or postgresql[+asyncpg]://user@host/db",
        )
    _validate_network(settings)
    _validate_numbers(settings)
    _validate_email(settings.email)  # e-mail channel (issue 9)
    if settings.database.sqlite_synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
        raise ConfigError("database.sqlite_synchronous", "expected OFF, NORMAL, FULL or EXTRA")
    if settings.log.format not in ("json", "text"):
        raise ConfigError("log.format", "expected json or text")
    if settings.log.level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError("log.level", "expected DEBUG, INFO, WARNING or ERROR")
    if len(settings.billing.currency) != 3:
        raise ConfigError("billing.currency", "expected a three-letter currency code")
    return dataclasses.replace(
        settings,
        data_dir=str(data_dir),
        database=dataclasses.replace(settings.database, url=url),
        exports=_export_settings(settings.exports, data_dir, cwd),  # issue 6
        links=_link_settings(settings),  # issue 7: tinyurls.php
        wait_call=_wait_call_settings(settings.wait_call),  # issue 7: wait_call.php
    )


def _export_settings(exports: ExportSettings, data_dir: Path, cwd: Path) -> ExportSettings:
    """Issue 6: the export directory made absolute (default ``<data_dir>/exports``; a relative one
    is read from the working directory, like ``data_dir``), numbers checked."""
    for key, value in (
        ("exports.retention_days", exports.retention_days),
        ("exports.batch_rows", exports.batch_rows),
        ("exports.workers", exports.workers),
        ("exports.max_attempts", exports.max_attempts),
        ("exports.max_queued", exports.max_queued),
    ):
        if value < 1:
            raise ConfigError(key, f"expected a positive integer, got {value}")
    for key, duration in (
        ("exports.poll_interval", exports.poll_interval),
        ("exports.lease", exports.lease),
    ):
        if duration <= 0:
            raise ConfigError(key, "expected a positive duration")
    directory = Path(exports.dir) if exports.dir.strip() else data_dir / "exports"
    if not directory.is_absolute():
        directory = cwd / directory
    return dataclasses.replace(exports, dir=str(directory))


def _validate_network(settings: Settings) -> None:
    try:
        ipaddress.ip_address(settings.bind_host)
    except ValueError:
        if not re.fullmatch(r"[A-Za-z0-9.-]+", settings.bind_host):
            raise ConfigError(
                "bind_host (SMSGATE_BIND_HOST)", f"not an address: {settings.bind_host!r}"
            ) from None
    for key, port in (
        ("http.port (SMSGATE_HTTP_PORT)", settings.http.port),
        ("smpp.port (SMSGATE_SMPP_PORT)", settings.smpp.port),
        ("smtp.port (SMSGATE_SMTP_PORT)", settings.smtp.port),
        ("http.tls_port (SMSGATE_HTTP_TLS_PORT)", settings.http.tls_port or 0),
        ("smtp.tls_port (SMSGATE_SMTP_TLS_PORT)", settings.smtp.tls_port or 0),
    ):
        if not 0 <= port <= 65535:
            raise ConfigError(key, f"expected a port 0..65535, got {port}")
    if settings.http.tls_port is not None and not (
        settings.http.tls_cert and settings.http.tls_key
    ):
        raise ConfigError("http.tls_cert", "http.tls_port needs http.tls_cert and http.tls_key")
    smtp = settings.smtp
    if bool(smtp.tls_cert) != bool(smtp.tls_key) or (
        smtp.tls_port is not None and not smtp.tls_cert
    ):
        raise ConfigError("smtp.tls_cert", "smtp TLS needs both smtp.tls_cert and smtp.tls_key")
    for cidr in filter(None, (c.strip() for c in settings.http.trusted_proxies.split(","))):
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise ConfigError("http.trusted_proxies", f"not a CIDR: {cidr!r}") from None


def _validate_numbers(settings: Settings) -> None:
    for key, value in (
        ("database.writer_max_batch", settings.database.writer_max_batch),
        ("database.writer_queue", settings.database.writer_queue),
        ("database.pool_size", settings.database.pool_size),
        ("http.max_body", settings.http.max_body),
        ("smtp.max_message", settings.smtp.max_message),
        ("smtp.max_recipients", settings.smtp.max_recipients),
        ("auth.argon2_time_cost", settings.auth.argon2_time_cost),
        ("auth.argon2_parallelism", settings.auth.argon2_parallelism),
        ("limits.concurrent", settings.limits.concurrent),
        ("lockout.auth_failures", settings.lockout.auth_failures),
        ("runtime.gil_switch_interval_us", settings.runtime.gil_switch_interval_us),
        ("runtime.workers", settings.runtime.workers),
        ("callbacks.concurrency", settings.callbacks.concurrency),
        ("callbacks.per_url_concurrency", settings.callbacks.per_url_concurrency),
        ("callbacks.breaker_failures", settings.callbacks.breaker_failures),
        ("callbacks.batch", settings.callbacks.batch),
    ):
        if value < 1:
            raise ConfigError(key, f"expected a positive integer, got {value}")
    if settings.auth.argon2_memory_cost_kib < 8 * settings.auth.argon2_parallelism:
        raise ConfigError("auth.argon2_memory_cost_kib", "must be at least 8 × parallelism")


# --- short links and call confirmation (issue 7) ---
def _link_settings(settings: Settings) -> LinkSettings:
    """``links.base_url`` checked, defaulting to the HTTP listener; the code length bounded."""
    links = settings.links
    if not 6 <= links.code_length <= 24:
        raise ConfigError("links.code_length", f"expected 6..24, got {links.code_length}")
    base = links.base_url.strip().rstrip("/")
    if not base:
        host = settings.bind_host if ":" not in settings.bind_host else f"[{settings.bind_host}]"
        base = f"http://{host}:{settings.http.port}"
    if not re.fullmatch(r"https?://[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._~/\-]*)?", base):
        raise ConfigError(
            "links.base_url (SMSGATE_LINKS_BASE_URL)", "expected http(s)://host[/path]"
        )
    return dataclasses.replace(links, base_url=base)


def _wait_call_settings(wait_call: WaitCallSettings) -> WaitCallSettings:
    """The number pool normalised to digits (``+7 999 …`` → ``7999…``), each 7–15 digits."""
    numbers = []
    for item in filter(None, (n.strip() for n in re.split(r"[,;]+", wait_call.numbers))):
        digits = re.sub(r"[\s+()\-.]", "", item)
        if not re.fullmatch(r"\d{7,15}", digits):
            raise ConfigError("wait_call.numbers", f"not a phone number: {item!r}")
        numbers.append(digits)
    if wait_call.ttl <= 0 or wait_call.max_skew <= 0:
        raise ConfigError("wait_call.ttl", "expected positive durations")
    return dataclasses.replace(wait_call, numbers=",".join(dict.fromkeys(numbers)))


# --- e-mail channel (issue 9) ---
_MAIL_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>.]+$")


def _validate_email(email: EmailSettings) -> None:
    if email.tls not in EMAIL_TLS_MODES:
        raise ConfigError("email.tls (SMSGATE_EMAIL_TLS)", "expected none, starttls or implicit")
    if not 0 < email.port <= 65535:
        raise ConfigError("email.port (SMSGATE_EMAIL_PORT)", f"expected a port, got {email.port}")
    for key, value in (
        ("email.window", email.window),
        ("email.pool_size", email.pool_size),
        ("email.max_attachments", email.max_attachments),
    ):
        if value < 1:
            raise ConfigError(key, f"expected a positive integer, got {value}")
    if email.tps < 0:
        raise ConfigError("email.tps", f"expected a number >= 0, got {email.tps}")
    if email.host and not _MAIL_ADDRESS.match(email.default_from):
        raise ConfigError(
            "email.default_from (SMSGATE_EMAIL_DEFAULT_FROM)",
            "the e-mail channel needs a default From address (name@domain)",
        )
    if bool(email.username) != bool(email.password):
        raise ConfigError("email.username", "relay AUTH needs both email.username and password")
    if email.track_url and not email.track_url.startswith(("http://", "https://")):
        raise ConfigError("email.track_url", "expected an http:// or https:// base URL")
    if bool(email.track_url) != bool(email.track_secret):
        raise ConfigError("email.track_secret", "open tracking needs track_url and track_secret")


__all__ = [
    "EMAIL_TLS_MODES",
    "CallbacksSettings",
    "EmailSettings",
    "ExportSettings",
    "LinkSettings",
    "Seconds",
    "SmppBindConfig",
    "SmppConnectorConfig",
    "WaitCallSettings",
]

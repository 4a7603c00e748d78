"""Typed settings of one upstream SMPP connector and its binds (issue 5, egress).

``config.py`` reads the raw ``[[connectors]]`` tables (:class:`smsgate.config.SmppConnectorConfig`);
:func:`connector_settings` turns one into these frozen values and names the bad key in a
:class:`ConfigError`. Everything a bind needs lives on its :class:`BindSettings`, so two binds of one
connector may go to different hosts with different credentials, limits and timers.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import TypeVar

from smsgate.config import SmppBindConfig, SmppConnectorConfig
from smsgate.errors import ConfigError
from smsgate.protocols.smpp.constants import CommandStatus


class BindMode(enum.Enum):
    """What one bind may do: submit (transmitter), receive receipts (receiver), or both."""

    TRANSCEIVER = "transceiver"
    TRANSMITTER = "transmitter"
    RECEIVER = "receiver"

    @property
    def submits(self) -> bool:
        return self is not BindMode.RECEIVER

    @property
    def receives(self) -> bool:
        return self is not BindMode.TRANSMITTER


class Coding(enum.Enum):
    """data_coding policy for text: GSM-7 when it fits, else UCS-2 (``auto``); or always one."""

    AUTO = "auto"
    UCS2 = "ucs2"
    LATIN1 = "latin1"  # data_coding 3 when every character is Latin-1, else UCS-2


class LongMessages(enum.Enum):
    """How a text longer than one SMS travels (protocols.md §3.6 lists what an SMSC may accept)."""

    UDH = "udh"  # one submit_sm per part, 8-bit reference concatenation header (IEI 0x00)
    SAR = "sar"  # one submit_sm per part, sar_* TLVs
    PAYLOAD = "payload"  # one submit_sm with message_payload; the SMSC splits (one receipt)


class IdFormat(enum.Enum):
    """How an SMSC writes message ids; both sides are normalised to one form (``ids.py``)."""

    TEXT = "text"
    DECIMAL = "decimal"
    HEX = "hex"


E = TypeVar("E", bound=enum.Enum)

# ESME_RINVDSTTON/NPI: this operator does not take the numbering plan; another route may.
DEFAULT_ROUTE_STATUSES = (CommandStatus.ESME_RINVDSTTON, CommandStatus.ESME_RINVDSTNPI)


@dataclass(frozen=True, slots=True)
class BindSettings:
    host: str
    port: int
    system_id: str
    password: str
    mode: BindMode = BindMode.TRANSCEIVER
    system_type: str = ""
    tls: bool = False
    tls_verify: bool = True
    tls_ca: str = ""  # PEM bundle; empty: the system's
    source_ton: int = 5  # alphanumeric sender
    source_npi: int = 0
    numeric_source_ton: int = 1  # a sender of digits only goes as international
    numeric_source_npi: int = 1
    dest_ton: int = 1
    dest_npi: int = 1
    coding: Coding = Coding.AUTO
    gsm7_data_coding: int = 0x00  # some SMSCs want 0x01 for their default alphabet
    window: int = 10
    tps: float = 0.0  # 0: no rate limit of our own
    enquire_link_s: float = 30.0
    response_timeout_s: float = 30.0
    connect_timeout_s: float = 10.0
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0
    throttle_backoff_s: float = 1.0
    throttle_backoff_max_s: float = 60.0

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ValueError(f"port {self.port}")
        if self.window < 1:
            raise ValueError(f"window {self.window}")
        if math.isnan(self.tps) or self.tps < 0:
            raise ValueError(f"tps {self.tps}")
        if not 0 < self.reconnect_min_s <= self.reconnect_max_s:
            raise ValueError("reconnect_min_s must be positive and at most reconnect_max_s")
        if not 0 < self.throttle_backoff_s <= self.throttle_backoff_max_s:
            raise ValueError("throttle_backoff_s must be positive and at most its max")
        if self.response_timeout_s <= 0 or self.connect_timeout_s <= 0:
            raise ValueError("timeouts must be positive")


@dataclass(frozen=True, slots=True)
class ConnectorSettings:
    name: str
    binds: tuple[BindSettings, ...]
    long_messages: LongMessages = LongMessages.UDH
    submit_id_format: IdFormat = IdFormat.TEXT
    receipt_id_format: IdFormat = IdFormat.TEXT
    registered_delivery: int = 1  # final receipt requested
    # Transient failures of a later part are retried this often in place (the first parts went).
    part_retries: int = 3
    route_statuses: tuple[int, ...] = tuple(int(s) for s in DEFAULT_ROUTE_STATUSES)

    def __post_init__(self) -> None:
        if not self.name or len(self.name) > 64:
            raise ValueError("name must be 1 to 64 characters")
        if not self.binds:
            raise ValueError("a connector needs at least one bind")
        if not any(b.mode.submits for b in self.binds):
            raise ValueError("a connector needs a transmitter or transceiver bind")

    @property
    def window(self) -> int:
        return sum(b.window for b in self.binds if b.mode.submits)

    @property
    def tps(self) -> float:
        """The connector's rate: the sum of its binds' (0, unlimited, when any bind is)."""
        rates = [b.tps for b in self.binds if b.mode.submits]
        return 0.0 if any(r <= 0 for r in rates) else sum(rates)


def connector_settings(config: SmppConnectorConfig, index: int) -> ConnectorSettings:
    """The settings of ``connectors[index]``; ConfigError names the offending key."""
    key = f"connectors[{index}]"
    binds = tuple(_bind(b, f"{key}.binds[{i}]") for i, b in enumerate(config.binds))
    try:
        return ConnectorSettings(
            name=config.name,
            binds=binds,
            long_messages=_enum(LongMessages, config.long_messages, f"{key}.long_messages"),
            submit_id_format=_enum(IdFormat, config.submit_id_format, f"{key}.submit_id_format"),
            receipt_id_format=_enum(IdFormat, config.receipt_id_format, f"{key}.receipt_id_format"),
            registered_delivery=config.registered_delivery,
            part_retries=config.part_retries,
            route_statuses=_statuses(config.route_statuses, f"{key}.route_statuses"),
        )
    except ValueError as exc:
        raise ConfigError(key, str(exc)) from None


def _bind(config: SmppBindConfig, key: str) -> BindSettings:
    try:
        return BindSettings(
            host=config.host,
            port=config.port,
            system_id=config.system_id,
            password=config.password,
            mode=_enum(BindMode, config.mode, f"{key}.mode"),
            system_type=config.system_type,
            tls=config.tls,
            tls_verify=config.tls_verify,
            tls_ca=config.tls_ca,
            source_ton=config.source_ton,
            source_npi=config.source_npi,
            dest_ton=config.dest_ton,
            dest_npi=config.dest_npi,
            coding=_enum(Coding, config.coding, f"{key}.coding"),
            window=config.window,
            tps=float(config.tps),
            enquire_link_s=float(config.enquire_link),
            response_timeout_s=float(config.response_timeout),
            connect_timeout_s=float(config.connect_timeout),
            reconnect_min_s=float(config.reconnect_min),
            reconnect_max_s=float(config.reconnect_max),
            throttle_backoff_s=float(config.throttle_backoff),
            throttle_backoff_max_s=float(config.throttle_backoff_max),
        )
    except ValueError as exc:
        raise ConfigError(key, str(exc)) from None


def _enum(cls: type[E], value: str, key: str) -> E:
    try:
        return cls(value.strip().lower())
    except ValueError:
        allowed = ", ".join(str(m.value) for m in cls)
        raise ConfigError(key, f"expected one of {allowed}, got {value!r}") from None


def _statuses(text: str, key: str) -> tuple[int, ...]:
    """Comma-separated command_status values, decimal or 0x hex."""
    try:
        return tuple(int(s.strip(), 0) for s in text.split(",") if s.strip())
    except ValueError:
        raise ConfigError(key, f"expected command_status numbers, got {text!r}") from None


def upstream_connectors(
    configs: tuple[SmppConnectorConfig, ...], reserved: frozenset[str]
) -> list[ConnectorSettings]:
    """Every configured connector; names unique and none of ``reserved`` (the built-in channels)."""
    settings = [connector_settings(config, index) for index, config in enumerate(configs)]
    seen: set[str] = set()
    for index, connector in enumerate(settings):
        if connector.name in seen or connector.name in reserved:
            raise ConfigError(f"connectors[{index}].name", f"{connector.name!r} is taken")
        seen.add(connector.name)
    return settings

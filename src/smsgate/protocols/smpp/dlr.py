"""Delivery receipt text (the de-facto SMPP 3.4 Appendix B form), parsed and formatted.

smsgate writes exactly (protocols.md §3.7)::

    id:<id> sub:001 dlvrd:<ddd> submit date:<YYMMDDhhmm> done date:<YYMMDDhhmm> stat:<STAT> err:<eee> text:<…>

and for an HLR result the same header followed by `` imsi:… msc:… mcc:… mnc:… cn:… net:… rcn:… rnet:…``
(percent-encoded UTF-8 values) instead of ``text:``. Choosing the 20 characters of ``text`` and the
time zone of the dates is the caller's business: dates are written in their own zone, so pass
``moment.astimezone(account_zone)``; parsed dates are read in the zone the caller names.

Parsing is lenient, because operators differ: keys in any case, ``submit_date`` as well as
``submit date``, dates with or without seconds, missing fields, ``err`` in decimal or ``0x`` hex.
Only a receipt without ``id`` or with a value that cannot be read raises :class:`ReceiptFormatError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from urllib.parse import quote, unquote

from smsgate.protocols.smpp.constants import MessageState

HLR_KEYS = ("imsi", "msc", "mcc", "mnc", "cn", "net", "rcn", "rnet")
RECEIPT_TEXT_CHARS = 20
"""How many characters of the message smsgate's receipts quote (protocols.md §3.7)."""

_KEY = re.compile(
    r"(?<![^\s])(id|sub|dlvrd|submit[ _]date|done[ _]date|stat|err|text|"
    + "|".join(HLR_KEYS)
    + r"):",
    re.IGNORECASE,
)


class ReceiptFormatError(ValueError):
    """A short_message that is not a delivery receipt smsgate can read."""


class ReceiptStat(StrEnum):
    """The ``stat:`` words (SMPP 3.4 Appendix B) and the message_state each corresponds to."""

    ENROUTE = "ENROUTE"
    DELIVRD = "DELIVRD"
    EXPIRED = "EXPIRED"
    DELETED = "DELETED"
    UNDELIV = "UNDELIV"
    ACCEPTD = "ACCEPTD"
    UNKNOWN = "UNKNOWN"
    REJECTD = "REJECTD"

    @property
    def message_state(self) -> MessageState:
        return _STATE_BY_STAT[self]


_STATE_BY_STAT = {
    ReceiptStat.ENROUTE: MessageState.ENROUTE,
    ReceiptStat.DELIVRD: MessageState.DELIVERED,
    ReceiptStat.EXPIRED: MessageState.EXPIRED,
    ReceiptStat.DELETED: MessageState.DELETED,
    ReceiptStat.UNDELIV: MessageState.UNDELIVERABLE,
    ReceiptStat.ACCEPTD: MessageState.ACCEPTED,
    ReceiptStat.UNKNOWN: MessageState.UNKNOWN,
    ReceiptStat.REJECTD: MessageState.REJECTED,
}


@dataclass(frozen=True, slots=True)
class DeliveryReceipt:
    """One receipt. Dates are aware; the text carries their wall-clock time in their own zone.

    ``stat`` is a :class:`ReceiptStat` value when known; a parsed receipt keeps an operator's own word
    as a plain upper-case string. ``text`` is ``None`` when the receipt has no ``text:`` field.
    """

    message_id: str
    stat: str
    err: int = 0
    sub: int = 1
    dlvrd: int = 0
    submit_date: datetime | None = None
    done_date: datetime | None = None
    text: str | None = None
    hlr: tuple[tuple[str, str], ...] = ()

    @property
    def message_state(self) -> MessageState | None:
        """The message_state for ``stat``, or ``None`` for a word SMPP does not define."""
        return _STATE_BY_STAT.get(ReceiptStat(self.stat)) if self.stat in _STATS else None


_STATS = frozenset(ReceiptStat)


def format_receipt(receipt: DeliveryReceipt) -> str:
    """The receipt in smsgate's form (module docstring); ``hlr`` pairs replace ``text:``."""
    parts = [
        f"id:{receipt.message_id}",
        f"sub:{receipt.sub:03d}",
        f"dlvrd:{receipt.dlvrd:03d}",
        f"submit date:{_format_date(receipt.submit_date)}",
        f"done date:{_format_date(receipt.done_date)}",
        f"stat:{receipt.stat}",
        f"err:{receipt.err:03d}",
    ]
    if receipt.hlr:
        parts.extend(f"{key}:{quote(value, safe='')}" for key, value in receipt.hlr)
    elif receipt.text is not None:
        parts.append(f"text:{receipt.text}")
    return " ".join(parts)


def _format_date(moment: datetime | None) -> str:
    return "" if moment is None else f"{moment:%y%m%d%H%M}"


def parse_receipt(text: str, zone: tzinfo = UTC) -> DeliveryReceipt:
    """Read a receipt text (module docstring for what is tolerated); its dates are read in ``zone``."""
    values: dict[str, str] = {}
    hlr: list[tuple[str, str]] = []
    matches = list(_KEY.finditer(text))
    for index, match in enumerate(matches):
        key = match.group(1).lower().replace("_", " ")
        if key == "text":
            values[key] = text[match.end() :]
            break
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        value = text[match.end() : end].strip()
        if key in HLR_KEYS:
            hlr.append((key, unquote(value)))
        else:
            values.setdefault(key, value)
    message_id = values.get("id")
    if not message_id:
        raise ReceiptFormatError(f"no id in receipt {text[:80]!r}")
    return DeliveryReceipt(
        message_id=message_id,
        stat=values.get("stat", "").upper(),
        err=_parse_number(values.get("err", "")),
        sub=_parse_number(values.get("sub", "")),
        dlvrd=_parse_number(values.get("dlvrd", "")),
        submit_date=_parse_date(values.get("submit date", ""), zone),
        done_date=_parse_date(values.get("done date", ""), zone),
        text=values.get("text"),
        hlr=tuple(hlr),
    )


def _parse_number(value: str) -> int:
    if value == "":
        return 0
    try:
        return int(value, 16) if value[:2].lower() == "0x" else int(value, 10)
    except ValueError as exc:
        raise ReceiptFormatError(f"number {value!r} in receipt") from exc


def _parse_date(value: str, zone: tzinfo) -> datetime | None:
    if value == "":
        return None
    pattern = {10: "%y%m%d%H%M", 12: "%y%m%d%H%M%S"}.get(len(value))
    try:
        if pattern is None or not value.isdigit():
            raise ValueError("expected YYMMDDhhmm[ss]")
        return datetime.strptime(value, pattern).replace(tzinfo=zone)
    except ValueError as exc:
        raise ReceiptFormatError(f"date {value!r} in receipt: {exc}") from exc

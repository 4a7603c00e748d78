"""Inbound numbers and incoming messages as values (http-api.md §12, protocols.md §3.8).

Months are counted on the platform clock, Moscow time (http-api.md §1.4: zones are relative to
Moscow): a number rented on the 10th of a 30-day month costs 21/30 of the monthly price and is paid
till the 1st of the next month, when it is renewed for a whole month (or released).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from smsgate.domain.money import to_ledger
from smsgate.domain.smsc_time import account_zone

PLATFORM_ZONE = account_zone(0)  # Moscow


def month_start(now: float) -> float:
    """The start of the month ``now`` falls in (platform zone), Unix seconds."""
    local = datetime.fromtimestamp(now, PLATFORM_ZONE)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp()


def next_month_start(now: float) -> float:
    """The start of the month after the one ``now`` falls in (platform zone), Unix seconds."""
    local = datetime.fromtimestamp(now, PLATFORM_ZONE)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return datetime(year, month, 1, tzinfo=PLATFORM_ZONE).timestamp()


def days_in_month(now: float) -> int:
    return round((next_month_start(now) - month_start(now)) / 86_400)


def pro_rata(monthly: Decimal, now: float) -> Decimal:
    """The price of the rest of the month from ``now``'s day on (that day included)."""
    local = datetime.fromtimestamp(now, PLATFORM_ZONE)
    days = days_in_month(now)
    remaining = days - local.day + 1
    return to_ledger(monthly * remaining / days)


@dataclass(frozen=True, slots=True)
class IncomingPart:
    """One incoming SMS, or one part of a concatenated one, as an operator delivered it:
    from ``phone`` to our ``to_phone``. ``total`` is 1 for a whole message; parts of one
    message share ``reference`` and ``total`` and are numbered by ``seq`` from 1."""

    phone: str
    to_phone: str
    text: str
    reference: int = 0
    total: int = 1
    seq: int = 1


def address_digits(address: str) -> str:
    """A phone address as stored (no ``+``); alphanumeric senders unchanged."""
    stripped = address.strip()
    return stripped[1:] if stripped.startswith("+") and stripped[1:].isdigit() else stripped

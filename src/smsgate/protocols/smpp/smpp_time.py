"""SMPP time format (SMPP 3.4 §7.1.1): ``schedule_delivery_time``, ``validity_period``, ``final_date``.

Absolute ``YYMMDDhhmmsstnnp``: local time, ``t`` tenths of a second, ``nn`` quarter hours between that
local time and UTC, ``p`` ``+`` (ahead of UTC) or ``-``. Relative ``YYMMDDhhmmss000R``: a period counted
from now. An empty string means "not given". Years are 2000 + ``YY``.

Pure functions: nothing reads the clock; "now" is an aware datetime passed in. Format errors raise
:class:`SmppTimeError` (a ``ValueError``); :func:`schedule_delivery_time` and :func:`validity_period`
turn them into the statuses protocols.md §3.4 asks for (``ESME_RINVSCHED``, ``ESME_RINVEXPIRY``).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from smsgate.protocols.smpp.constants import CommandStatus
from smsgate.protocols.smpp.errors import SmppError

_TIME = re.compile(r"(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d)(\d{2})([+\-R])", re.ASCII)
_QUARTER_HOUR = timedelta(minutes=15)


class SmppTimeError(ValueError):
    """Text that is not an SMPP absolute or relative time."""


@dataclass(frozen=True, slots=True)
class RelativeTime:
    """A relative SMPP time: a period that starts when the PDU is received."""

    years: int = 0
    months: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: int = 0

    def after(self, start: datetime) -> datetime:
        """``start`` moved by the period; years and months by the calendar (31 Jan + 1 month = 28/29 Feb)."""
        month_index = start.month - 1 + self.months + 12 * self.years
        year, month = start.year + month_index // 12, month_index % 12 + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        moved = start.replace(year=year, month=month, day=day)
        return moved + timedelta(
            days=self.days, hours=self.hours, minutes=self.minutes, seconds=self.seconds
        )


def parse_smpp_time(text: str) -> datetime | RelativeTime | None:
    """An aware datetime (absolute), a :class:`RelativeTime`, or ``None`` for the empty string."""
    if text == "":
        return None
    match = _TIME.fullmatch(text)
    if match is None:
        raise SmppTimeError(f"{text!r} is not YYMMDDhhmmsstnnp")
    yy, mo, dd, hh, mi, ss, tenths, quarters, sign = match.groups()
    if sign == "R":
        if tenths != "0" or quarters != "00":
            raise SmppTimeError(f"relative time {text!r} must end in 000R")
        return RelativeTime(int(yy), int(mo), int(dd), int(hh), int(mi), int(ss))
    if int(quarters) > 48:
        raise SmppTimeError(f"offset of {quarters} quarter hours in {text!r}")
    offset = _QUARTER_HOUR * int(quarters) * (1 if sign == "+" else -1)
    try:
        return datetime(
            2000 + int(yy),
            int(mo),
            int(dd),
            int(hh),
            int(mi),
            int(ss),
            int(tenths) * 100_000,
            tzinfo=timezone(offset),
        )
    except ValueError as exc:
        raise SmppTimeError(f"{text!r}: {exc}") from exc


def resolve_smpp_time(text: str, now: datetime) -> datetime | None:
    """The UTC instant ``text`` names (relative times count from ``now``), or ``None`` when empty."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    parsed = parse_smpp_time(text)
    if parsed is None:
        return None
    if isinstance(parsed, RelativeTime):
        return parsed.after(now.astimezone(UTC))
    return parsed.astimezone(UTC)


def schedule_delivery_time(text: str, now: datetime) -> datetime | None:
    """``schedule_delivery_time`` as a UTC instant; a bad value → ``SmppError(ESME_RINVSCHED)``."""
    return _resolve_or(text, now, CommandStatus.ESME_RINVSCHED)


def validity_period(text: str, now: datetime) -> datetime | None:
    """``validity_period`` as a UTC instant; a bad value → ``SmppError(ESME_RINVEXPIRY)``."""
    return _resolve_or(text, now, CommandStatus.ESME_RINVEXPIRY)


def _resolve_or(text: str, now: datetime, status: CommandStatus) -> datetime | None:
    try:
        return resolve_smpp_time(text, now)
    except SmppTimeError as exc:
        raise SmppError(status, str(exc)) from exc


def format_absolute(moment: datetime) -> str:
    """``moment`` (aware) as ``YYMMDDhhmmsstnnp`` in its own offset, e.g. ``251124153000000+``.

    The offset must be a whole number of quarter hours and the year within 2000–2099.
    """
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError("moment must be an aware datetime")
    quarters, rest = divmod(abs(offset), _QUARTER_HOUR)
    if rest or not 2000 <= moment.year <= 2099:
        raise ValueError(f"{moment.isoformat()} has no SMPP absolute form")
    sign = "-" if offset < timedelta(0) else "+"
    return f"{moment:%y%m%d%H%M%S}{moment.microsecond // 100_000}{quarters:02d}{sign}"


def format_relative(period: RelativeTime) -> str:
    """``period`` as ``YYMMDDhhmmss000R``; every unit must fit in two digits."""
    units = (
        period.years,
        period.months,
        period.days,
        period.hours,
        period.minutes,
        period.seconds,
    )
    if not all(0 <= unit <= 99 for unit in units):
        raise ValueError(f"{period} has a unit outside 0..99")
    return "".join(f"{unit:02d}" for unit in units) + "000R"

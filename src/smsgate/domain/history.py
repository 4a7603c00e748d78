"""The pure rules of get.php queries (http-api.md §10).

- ``get_messages`` covers at most six months: ``end`` may not pass ``start`` plus six calendar
  months (a start on the 31st counts from the month's last day when the later month is shorter).
- Its ``format`` is the format index of codes.md §4.3: absent or 0 → every type but e-mail;
  8 → e-mail; any other index → that message type (4 and 5, ``bin=1``/``bin=2``, both mean binary).
"""

from __future__ import annotations

import calendar
from datetime import datetime

from smsgate.domain.codes import MessageType

MAX_PERIOD_MONTHS = 6

# codes.md §4.3: format index → message type.
FORMAT_TYPES: dict[int, MessageType] = {
    1: MessageType.FLASH,
    2: MessageType.PUSH,
    3: MessageType.HLR,
    4: MessageType.BIN,
    5: MessageType.BIN,
    6: MessageType.PING,
    7: MessageType.MMS,
    8: MessageType.MAIL,
    9: MessageType.CALL,
    10: MessageType.VIBER,
    11: MessageType.SOC,
    12: MessageType.TG,
}


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` moved by whole calendar months, the day clamped to the target month's length."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def within_period(start: datetime, end: datetime) -> bool:
    """Whether [start, end) is at most ``MAX_PERIOD_MONTHS`` long."""
    return end <= add_months(start, MAX_PERIOD_MONTHS)


def format_filter(index: int) -> tuple[tuple[int, ...] | None, tuple[int, ...]]:
    """(types to include, None = any; types to exclude) for a ``format`` index; ValueError when
    the index is not one of codes.md §4.3."""
    if index == 0:
        return None, (int(MessageType.MAIL),)
    if index not in FORMAT_TYPES:
        raise ValueError(f"format {index} is not a format index")
    return (int(FORMAT_TYPES[index]),), ()

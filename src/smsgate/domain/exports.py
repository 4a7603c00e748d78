"""Deferred exports of sent messages (downloads.php, http-api.md §13): filters and CSV rows.

Pure: what a task selects (:class:`ExportFilters`, parsed from the API's parameters) and how one
stored message becomes one CSV record (:class:`CsvRowFormatter`). Reading the store and writing the
file happen elsewhere (``dispatch/exports.py``).

The CSV is an smsgate definition (http-api.md §13): RFC 4180, a header row, the columns of
:data:`CSV_COLUMNS`, dates ``DD.MM.YYYY hh:mm:ss`` in the account's zone, money with two decimals.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from smsgate.domain.codes import MessageStatus, MessageType
from smsgate.domain.phones import PhoneFormatError, normalise, split_list
from smsgate.domain.smsc_time import (
    TimeFormatError,
    account_zone,
    parse_range_end,
    parse_range_start,
)

CSV_COLUMNS = (
    "int_id",
    "id",
    "phone",
    "sender",
    "message",
    "comment",
    "type",
    "send_date",
    "last_date",
    "status",
    "status_name",
    "err",
    "sms_cnt",
    "cost",
    "country",
    "operator",
    "region",
    "mccmnc",
)
# The stored fields a CSV record is made of, in the order the store hands them over. ``cost_units``
# is the ledger amount in ten-thousandths (four decimals), as stored.
MESSAGE_FIELDS = (
    "id",
    "client_id",
    "phone",
    "sender",
    "text",
    "comment",
    "msg_type",
    "created_at",
    "updated_at",
    "status",
    "err",
    "parts",
    "cost_units",
    "country",
    "operator",
    "region",
    "mccmnc",
)
MAX_PERIOD_MONTHS = 12
MAX_NAME_LENGTH = 100
MAX_FILTER_ITEMS = 1000
_UNITS_PER_CENT = 100  # the ledger keeps four decimals, replies show two
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_INT = re.compile(r"-?\d{1,4}", re.ASCII)
_STATUS_NAMES = {int(status): status.status_name for status in MessageStatus}
_STORED_STATUSES = frozenset(int(s) for s in MessageStatus if s is not MessageStatus.NOT_FOUND)
_TYPES = frozenset(int(t) for t in MessageType)
_MEMO_LIMIT = 4096
_SEPARATORS = len(CSV_COLUMNS) - 1
_FREE_TEXT = tuple(
    CSV_COLUMNS.index(name)
    for name in ("id", "phone", "sender", "message", "comment", "status_name", "country")
    + ("operator", "region", "mccmnc")
)
_DAY_S = 86400
_TWO_DIGITS = tuple(f"{n:02d}" for n in range(60))
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ExportRequestError(ValueError):
    """A parameter of an export request the API refuses (error 1 on downloads.php)."""


@dataclass(frozen=True, slots=True)
class ExportFilters:
    """Which messages a task exports: created in [period_start, period_end), Unix seconds, and
    optionally only these recipients, statuses and types (empty: any)."""

    period_start: float
    period_end: float
    phones: tuple[str, ...] = ()
    statuses: tuple[int, ...] = ()
    types: tuple[int, ...] = ()


def export_file_name(task_id: int) -> str:
    """The file name a finished task shows and downloads under (http-api.md §13)."""
    return f"export_{task_id}.csv"


def parse_task_name(name: str) -> str:
    """A task name: 1..100 characters, no control characters (they would break fmt 0/1 lists)."""
    text = name.strip()
    if not text or len(text) > MAX_NAME_LENGTH or _CONTROL.search(text):
        raise ExportRequestError(f"name must be 1..{MAX_NAME_LENGTH} printable characters")
    return text


def parse_filters(
    start: str, end: str, phones: str, statuses: str, types: str, tz_minutes: int
) -> ExportFilters:
    """The filters of ``add=1`` (http-api.md §13) read in the account's zone.

    ``start``/``end`` are ``DD.MM.YYYY[ hh:mm[:ss]]`` (an ``end`` without time means the end of that
    day); the period must not be empty nor longer than 12 calendar months. ``phone``, ``status`` and
    ``type`` are comma lists. Any problem is an :class:`ExportRequestError`: on downloads.php code 5
    means "file not available", so a bad date is a parameters error here.
    """
    if not start.strip() or not end.strip():
        raise ExportRequestError("start and end are required")
    try:
        begin = parse_range_start(start, tz_minutes)
        bound = parse_range_end(end, tz_minutes)
    except TimeFormatError as exc:
        raise ExportRequestError(exc.detail) from None
    if bound <= begin:
        raise ExportRequestError("end is before start")
    zone = account_zone(tz_minutes)
    if bound.astimezone(zone) > add_months(begin.astimezone(zone), MAX_PERIOD_MONTHS):
        raise ExportRequestError(f"the period is longer than {MAX_PERIOD_MONTHS} months")
    return ExportFilters(
        period_start=begin.timestamp(),
        period_end=bound.timestamp(),
        phones=_recipients(phones),
        statuses=_codes(statuses, "status", _STORED_STATUSES),
        types=_codes(types, "type", _TYPES),
    )


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` plus whole calendar months; the day is clamped to the target month's length."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    following = datetime(year + month // 12, month % 12 + 1, 1)
    last_day = (following - timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


def _recipients(text: str) -> tuple[str, ...]:
    """Numbers normalised as send.php stores them; e-mail addresses lower-cased; Telegram
    ``@username`` and ``#chat id`` as written (http-api.md §1.6)."""
    found: dict[str, None] = {}
    for item in split_list(text):
        if "@" in item[1:]:
            found[item.lower()] = None
        elif item.startswith(("@", "#")) and len(item) > 1:
            found[item] = None
        else:
            try:
                found[normalise(item)] = None
            except PhoneFormatError:
                raise ExportRequestError(f"invalid phone: {item!r}") from None
    if len(found) > MAX_FILTER_ITEMS:
        raise ExportRequestError(f"more than {MAX_FILTER_ITEMS} phones")
    return tuple(found)


def _codes(text: str, name: str, allowed: frozenset[int]) -> tuple[int, ...]:
    items = [item.strip() for item in text.split(",") if item.strip()]
    codes: dict[int, None] = {}
    for item in items:
        if not _INT.fullmatch(item) or int(item) not in allowed:
            raise ExportRequestError(f"unknown {name}: {item!r}")
        codes[int(item)] = None
    return tuple(sorted(codes))


def format_filter(values: Sequence[str | int]) -> str:
    """A filter list as stored (comma-separated)."""
    return ",".join(str(value) for value in values)


def parse_stored_filter(text: str) -> tuple[str, ...]:
    return tuple(item for item in text.split(",") if item)


class CsvRowFormatter:
    """Turns stored messages (tuples in :data:`MESSAGE_FIELDS` order) into CSV records and lines.

    Exports run to millions of rows, so this is written for speed: the two dates and the cost of a
    row come from small memos (the date part per day in the account's zone, the text of each
    distinct cost), and a line is quoted field by field only when it holds a comma, a quote or a
    line break somewhere (RFC 4180, the same output as the csv module's minimal quoting).
    """

    def __init__(self, tz_minutes: int) -> None:
        offset = account_zone(tz_minutes).utcoffset(None)
        self._offset_s = int(offset.total_seconds())
        self._days: dict[int, str] = {}
        self._costs: dict[int, str] = {}
        # Rows come in id order, nearly in time order: most share the previous row's day.
        self._day: int | None = None
        self._prefix = ""

    def line(self, row: Sequence[Any]) -> str:
        """One CSV line, CRLF included (RFC 4180: fields with ``,`` ``"`` CR or LF are quoted, with
        quotes doubled)."""
        fields = self.record(row)
        joined = ",".join(fields)
        if joined.count(",") != _SEPARATORS or '"' in joined or "\n" in joined or "\r" in joined:
            # Only the free-text columns can hold these; numbers and dates never do.
            for index in _FREE_TEXT:
                fields[index] = _quoted(fields[index])
            joined = ",".join(fields)
        return joined + "\r\n"

    def record(self, row: Sequence[Any]) -> list[str]:
        """The fields of one CSV record (:data:`CSV_COLUMNS`); ``row`` comes off the store."""
        (
            int_id,
            client_id,
            phone,
            sender,
            text,
            comment,
            msg_type,
            created_at,
            updated_at,
            status,
            err,
            parts,
            cost_units,
            country,
            operator,
            region,
            mccmnc,
        ) = row
        cost = self._costs.get(cost_units)
        if cost is None:
            if len(self._costs) >= _MEMO_LIMIT:
                self._costs.clear()
            cost = self._costs[cost_units] = display_units(cost_units)
        return [
            str(int_id),
            client_id,
            phone,
            sender or "",
            text,
            comment or "",
            str(msg_type),
            self.date(created_at),
            self.date(updated_at),
            str(status),
            _STATUS_NAMES.get(status, ""),
            str(err),
            str(parts),
            cost,
            country or "",
            operator or "",
            region or "",
            mccmnc or "",
        ]

    def date(self, unix_seconds: float) -> str:
        """``DD.MM.YYYY hh:mm:ss`` in the account's zone; fractions of a second dropped."""
        day, rest = divmod(math.floor(unix_seconds) + self._offset_s, _DAY_S)
        if day != self._day:
            prefix = self._days.get(day)
            if prefix is None:
                if len(self._days) >= _MEMO_LIMIT:
                    self._days.clear()
                moment = _EPOCH + timedelta(days=day)
                prefix = f"{moment.day:02d}.{moment.month:02d}.{moment.year:04d} "
                self._days[day] = prefix
            self._day, self._prefix = day, prefix
        hour, rest = divmod(rest, 3600)
        minute, second = divmod(rest, 60)
        two = _TWO_DIGITS
        return self._prefix + two[hour] + ":" + two[minute] + ":" + two[second]


def _quoted(field: str) -> str:
    if "," in field or '"' in field or "\n" in field or "\r" in field:
        return '"' + field.replace('"', '""') + '"'
    return field


def display_units(units: int) -> str:
    """A ledger amount in ten-thousandths with two decimals, half-up (as ``money.display``)."""
    cents = (abs(units) + _UNITS_PER_CENT // 2) // _UNITS_PER_CENT
    sign = "-" if units < 0 else ""
    return f"{sign}{cents // 100}.{cents % 100:02d}"

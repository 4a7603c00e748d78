"""SMSC time formats: time zones, deferred sending, spreading, validity, date inputs and outputs.

Pure functions (style.md habit 8): nothing here reads the clock. Every function that needs the current
time takes ``now`` as an *aware* datetime (any offset; results are always in UTC), so callers pass
``utc_datetime(clock.now())``. Stored instants stay Unix seconds; :func:`format_date` takes those.

Time zones are whole minutes relative to Moscow (UTC+3, no DST), the unit of ``accounts.tz_minutes``;
the API writes them as hours (``-1``, ``2``, ``2.5``), http-api.md §1.4 and §2.1 ``tz``.

Every refusal raises :class:`TimeFormatError`, which carries the SMSC request error it becomes
(codes.md §1.1): 5 for ``time``, ``tz`` and the ``start``/``end`` dates; 1 for ``valid``, ``period``
and ``freq``. Plain ``ValueError`` (not a ``TimeFormatError``) means a caller broke a contract, such as
a naive ``now`` or a stored time zone out of range.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import NamedTuple, TypeAlias

from smsgate.domain.codes import RequestErrorCode

MOSCOW_UTC_OFFSET = timedelta(hours=3)
TZ_MIN_MINUTES = -15 * 60
TZ_MAX_MINUTES = 11 * 60
MAX_AHEAD = timedelta(days=365)
DEFAULT_VALID = timedelta(hours=24)
MIN_VALID_HOURS = timedelta(hours=1)
MIN_VALID_CLOCK = timedelta(minutes=1)
PERIOD_MIN_H = Decimal("0.1")
PERIOD_MAX_H = Decimal(720)
FREQ_MIN_MIN = 1
FREQ_MAX_MIN = 1440
DEFAULT_FREQ_MIN = 60

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_AHEAD_MINUTES = int(MAX_AHEAD.total_seconds()) // 60

ScheduledTime: TypeAlias = datetime | None
"""When to send: an aware UTC datetime, or ``None`` for "immediately"."""


class TimeFormatError(ValueError):
    """A time or date parameter the API refuses; ``code`` is the request error it becomes."""

    def __init__(self, detail: str, code: RequestErrorCode = RequestErrorCode.INVALID_DATE) -> None:
        super().__init__(f"error {int(code)}: {detail}")
        self.code = code
        self.detail = detail


def _parameters_error(detail: str) -> TimeFormatError:
    return TimeFormatError(detail, RequestErrorCode.PARAMETERS)


# --- time zones -------------------------------------------------------------------------------

_TZ = re.compile(r"[+-]?\d{1,2}(?:\.\d{1,4})?", re.ASCII)


def account_zone(tz_minutes: int) -> timezone:
    """The fixed-offset zone ``tz_minutes`` relative to Moscow (UTC+3, no DST; http-api.md §1.4).

    ValueError when outside -15..+11 hours: stored and parsed zones never are.
    """
    if not TZ_MIN_MINUTES <= tz_minutes <= TZ_MAX_MINUTES:
        raise ValueError(f"time zone out of range: {tz_minutes} minutes relative to Moscow")
    return timezone(MOSCOW_UTC_OFFSET + timedelta(minutes=tz_minutes))


def parse_tz(value: str | None, account_tz_minutes: int) -> int:
    """Parse ``tz`` (hours relative to Moscow, e.g. ``-1``, ``2``, ``+2.5``) into minutes.

    http-api.md §2.1: range -15..+11 hours; absent (``None`` or blank) → the account's setting; anything
    else, or an offset that is not a whole number of minutes (``2.33``), → error 5.
    """
    if value is None or not value.strip():
        return account_tz_minutes
    text = value.strip()
    if _TZ.fullmatch(text) is None:
        raise TimeFormatError(f"invalid tz: {value!r}")
    minutes = Decimal(text) * 60
    if minutes != minutes.to_integral_value():
        raise TimeFormatError(f"tz is not a whole number of minutes: {value!r}")
    if not TZ_MIN_MINUTES <= minutes <= TZ_MAX_MINUTES:
        raise TimeFormatError(f"tz out of range -15..+11: {value!r}")
    return int(minutes)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"expected an aware datetime, got {moment!r}")
    return moment.astimezone(UTC)


def _local(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    """A naive local wall time; error 5 when it does not exist (31.02, 24:00, 12:60)."""
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        raise TimeFormatError(
            f"no such date or time: {day:02d}.{month:02d}.{year:04d} {hour:02d}:{minute:02d}"
        ) from None


def _to_utc(wall: datetime, zone: timezone, shift: timedelta = timedelta()) -> datetime:
    """``wall`` read in ``zone``, plus ``shift``, as UTC; error 5 past the ends of the calendar."""
    try:
        return (wall.replace(tzinfo=zone) + shift).astimezone(UTC)
    except OverflowError:
        raise TimeFormatError(f"date out of range: {wall.isoformat()}") from None


# --- `time`: deferred sending (http-api.md §2.4) ------------------------------------------------

_Form: TypeAlias = Callable[[re.Match[str], timezone, datetime], ScheduledTime]


def _relative(match: re.Match[str], zone: timezone, now: datetime) -> ScheduledTime:
    """``+m``: m minutes from now."""
    minutes = int(match[1])
    if minutes > _MAX_AHEAD_MINUTES:
        raise TimeFormatError(f"more than 365 days ahead: +{minutes}")
    return now + timedelta(minutes=minutes)


def _compact(match: re.Match[str], zone: timezone, now: datetime) -> ScheduledTime:
    """``DDMMYYhhmm`` in ``tz``; YY is 20YY."""
    day, month, year, hour, minute = (int(group) for group in match.groups())
    return _to_utc(_local(2000 + year, month, day, hour, minute), zone)


def _unix(match: re.Match[str], zone: timezone, now: datetime) -> ScheduledTime:
    """``0<unix>``: a zero-prefixed Unix timestamp (absolute, so ``tz`` does not apply)."""
    seconds = int(match[1])
    if seconds - now.timestamp() > MAX_AHEAD.total_seconds():
        raise TimeFormatError(f"more than 365 days ahead: 0{seconds}")
    return _EPOCH + timedelta(seconds=seconds)


def _dotted(match: re.Match[str], zone: timezone, now: datetime) -> ScheduledTime:
    """``DD.MM.YY hh:mm`` (20YY) or ``DD.MM.YYYY hh:mm`` in ``tz``."""
    day, month, year_text, hour, minute = match.groups()
    year = int(year_text) if len(year_text) == 4 else 2000 + int(year_text)
    return _to_utc(_local(year, int(month), int(day), int(hour), int(minute)), zone)


def in_hour_window(hour: int, h1: int, h2: int) -> bool:
    """Whether ``hour`` lies in [h1, h2); when h1 > h2 the window wraps midnight (``22-6``), and
    h1 == h2 is an empty window (http-api.md §2.4 ``h1-h2``, smsgate definition)."""
    if h1 < h2:
        return h1 <= hour < h2
    if h1 > h2:
        return hour >= h1 or hour < h2
    return False


def _hours(match: re.Match[str], zone: timezone, now: datetime) -> ScheduledTime:
    """``h1-h2``: now when the current hour in ``tz`` is in the window, else the next ``h1:00``."""
    h1, h2 = int(match[1]), int(match[2])
    if h1 > 23 or h2 > 24:
        raise TimeFormatError(f"invalid hour range: {h1}-{h2}")
    local = now.astimezone(zone)
    if in_hour_window(local.hour, h1, h2):
        return None
    start = local.replace(hour=h1, minute=0, second=0, microsecond=0)
    if start <= local:
        start += timedelta(days=1)
    return start.astimezone(UTC)


# Order matters: ten digits are always DDMMYYhhmm, even when they start with 0.
_FORMS: tuple[tuple[re.Pattern[str], _Form], ...] = (
    (re.compile(r"\+(\d{1,9})", re.ASCII), _relative),
    (re.compile(r"(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)", re.ASCII), _compact),
    (re.compile(r"0(\d{1,18})", re.ASCII), _unix),
    (re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2}) +(\d{1,2}):(\d\d)", re.ASCII), _dotted),
    (re.compile(r"(\d{1,2})-(\d{1,2})", re.ASCII), _hours),
)


def parse_send_time(value: str, tz_minutes: int, now: datetime) -> ScheduledTime:
    """Parse send.php ``time`` (http-api.md §2.1, §2.4) read in ``tz_minutes`` relative to Moscow.

    Forms: ``DDMMYYhhmm``; ``DD.MM.YY hh:mm`` or ``DD.MM.YYYY hh:mm`` (day, month and hour may have
    one digit; one or more spaces); ``h1-h2`` (h1 0..23, h2 0..24); ``0<unix>``; ``+m``. Surrounding
    whitespace is ignored. ``0``, empty, ``+0``, a time not after ``now`` or an ``h1-h2`` window
    containing the current hour → ``None`` (immediately). A time more than 365 days after ``now``
    (exactly 365 × 24 h is accepted), or anything else, → error 5. Digits are ASCII only. Ten
    digits are always ``DDMMYYhhmm``, so ``0<unix>`` needs a timestamp of other than nine digits.
    """
    now_utc = _utc(now)
    zone = account_zone(tz_minutes)
    text = value.strip()
    if text in ("", "0"):
        return None
    for pattern, form in _FORMS:
        match = pattern.fullmatch(text)
        if match is not None:
            return _not_before_now(form(match, zone, now_utc), now_utc)
    raise TimeFormatError(f"invalid time: {value!r}")


def _not_before_now(at: ScheduledTime, now: datetime) -> ScheduledTime:
    """Past or present → immediately; beyond ``MAX_AHEAD`` → error 5 (http-api.md §2.4)."""
    if at is None or at <= now:
        return None
    if at - now > MAX_AHEAD:
        raise TimeFormatError(f"more than 365 days ahead: {at.isoformat()}")
    return at


def parse_smtp_send_time(value: str, tz_minutes: int, now: datetime) -> ScheduledTime:
    """Parse the ``time`` field of the SMTP ``send@`` colon grammar (protocols.md §2.3 field 4).

    Only the forms without ``:`` — ``DDMMYYhhmm``, ``h1-h2``, ``0<unix>``, ``+m`` — plus empty or ``0``
    (now); otherwise as :func:`parse_send_time`. Any ``:`` → error 5.
    """
    if ":" in value:
        raise TimeFormatError(f"time with ':' in the SMTP colon grammar: {value!r}")
    return parse_send_time(value, tz_minutes, now)


# --- `period` / `freq`: spread sending (http-api.md §2.4, smsgate definition) -------------------

_PERIOD = re.compile(r"\d{1,3}(?:\.\d{1,6})?", re.ASCII)
_FREQ = re.compile(r"\d{1,4}", re.ASCII)


class Batch(NamedTuple):
    """``size`` consecutive recipients released at ``release_at`` (aware UTC); unpacks as a pair."""

    size: int
    release_at: datetime


@dataclass(frozen=True, slots=True)
class Spread:
    """Spread sending: ``period_h`` 0.1..720 hours, ``freq_min`` 1..1440 minutes; else error 1."""

    period_h: Decimal
    freq_min: int = DEFAULT_FREQ_MIN

    def __post_init__(self) -> None:
        if not (self.period_h.is_finite() and PERIOD_MIN_H <= self.period_h <= PERIOD_MAX_H):
            raise _parameters_error(f"period out of range 0.1..720: {self.period_h}")
        if not FREQ_MIN_MIN <= self.freq_min <= FREQ_MAX_MIN:
            raise _parameters_error(f"freq out of range 1..1440: {self.freq_min}")

    @property
    def batch_limit(self) -> int:
        """B = ⌊period·60 / freq⌋ + 1, before the cap of one batch per recipient."""
        return int(self.period_h * 60 // self.freq_min) + 1

    def batches(self, n_recipients: int, start: datetime) -> list[Batch]:
        """:func:`spread_batches` for this spread."""
        return spread_batches(n_recipients, self.period_h, self.freq_min, start)


def parse_spread(period: str | None, freq: str | None) -> Spread | None:
    """Parse ``period`` (hours, decimal) and ``freq`` (whole minutes, default 60); http-api.md §2.1.

    No (or a blank) ``period`` → ``None``, and ``freq`` is then ignored without being checked.
    Malformed or out-of-range values → error 1.
    """
    if period is None or not period.strip():
        return None
    period_text = period.strip()
    if _PERIOD.fullmatch(period_text) is None:
        raise _parameters_error(f"invalid period: {period!r}")
    if freq is None or not freq.strip():
        return Spread(Decimal(period_text))
    freq_text = freq.strip()
    if _FREQ.fullmatch(freq_text) is None:
        raise _parameters_error(f"invalid freq: {freq!r}")
    return Spread(Decimal(period_text), int(freq_text))


def spread_batches(
    n_recipients: int, period_h: Decimal, freq_min: int, start: datetime
) -> list[Batch]:
    """Cut ``n_recipients`` (in request order) into release batches (http-api.md §2.4).

    B = min(⌊period·60 / freq⌋ + 1, n) batches; sizes differ by at most one, the larger first; batch
    k (from 0) is released at ``start`` + k·freq minutes. Counts sum to n; no recipients → ``[]``.
    ``period_h`` and ``freq_min`` are validated as :class:`Spread` (error 1).
    """
    if n_recipients < 0:
        raise ValueError(f"negative recipient count: {n_recipients}")
    begin = _utc(start)
    count = min(Spread(period_h, freq_min).batch_limit, n_recipients)
    if count == 0:
        return []
    size, larger = divmod(n_recipients, count)
    return [
        Batch(size + (1 if k < larger else 0), begin + timedelta(minutes=k * freq_min))
        for k in range(count)
    ]


# --- `valid` (http-api.md §2.1) -----------------------------------------------------------------

_VALID_HOURS = re.compile(r"\d{1,2}", re.ASCII)
_VALID_CLOCK = re.compile(r"(\d{1,2}):(\d\d)", re.ASCII)


def parse_valid(value: str | None) -> timedelta:
    """Parse ``valid``: whole hours 1..24 or ``hh:mm`` from 00:01 to 24:00; absent or blank → 24 h.

    Malformed or out of range → error 1, not 5 (http-api.md §2.1).
    """
    if value is None or not value.strip():
        return DEFAULT_VALID
    text = value.strip()
    if _VALID_HOURS.fullmatch(text) is not None:
        validity = timedelta(hours=int(text))
        if not MIN_VALID_HOURS <= validity <= DEFAULT_VALID:
            raise _parameters_error(f"valid out of range 1..24: {value!r}")
        return validity
    clock = _VALID_CLOCK.fullmatch(text)
    if clock is None or int(clock[2]) > 59:
        raise _parameters_error(f"invalid valid: {value!r}")
    validity = timedelta(hours=int(clock[1]), minutes=int(clock[2]))
    if not MIN_VALID_CLOCK <= validity <= DEFAULT_VALID:
        raise _parameters_error(f"valid out of range 00:01..24:00: {value!r}")
    return validity


# --- `start` / `end` date inputs and date output (http-api.md §1.4) -----------------------------

_DATE_INPUT = re.compile(
    r"(\d{1,2})\.(\d{1,2})\.(\d{4})(?: +(\d{1,2}):(\d\d)(?::(\d\d))?)?", re.ASCII
)


def _date_input(value: str) -> tuple[datetime, timedelta]:
    """The wall time named by a date input and the length of the unit it names (day, minute, second)."""
    match = _DATE_INPUT.fullmatch(value.strip())
    if match is None:
        raise TimeFormatError(f"invalid date: {value!r}")
    day, month, year, hour, minute, second = match.groups()
    if hour is None:
        unit = timedelta(days=1)
    else:
        unit = timedelta(minutes=1) if second is None else timedelta(seconds=1)
    wall = _local(
        int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
    )
    return wall, unit


def parse_range_start(value: str, tz_minutes: int) -> datetime:
    """A ``start`` date input (``DD.MM.YYYY[ hh:mm[:ss]]``) read in the account zone, as UTC.

    A date without time is that day's 00:00. Malformed or non-existent → error 5 (http-api.md §1.4).
    """
    wall, _ = _date_input(value)
    return _to_utc(wall, account_zone(tz_minutes))


def parse_range_end(value: str, tz_minutes: int) -> datetime:
    """An ``end`` date input as an *exclusive* UTC bound: the start of the unit after the one named.

    The end is inclusive at its own precision: ``31.12.2024`` (no time: "end of that day",
    http-api.md §1.4) → 01.01.2025 00:00 local; ``… 12:00`` → 12:01; ``… 12:00:30`` → 12:00:31.
    Query with ``instant < bound``. Malformed or non-existent → error 5.
    """
    wall, unit = _date_input(value)
    return _to_utc(wall, account_zone(tz_minutes), unit)


def format_date(unix_seconds: float, tz_minutes: int) -> str:
    """``DD.MM.YYYY hh:mm:ss`` in the account zone (http-api.md §1.4); fractions of a second dropped."""
    moment = (_EPOCH + timedelta(seconds=math.floor(unix_seconds))).astimezone(
        account_zone(tz_minutes)
    )
    return (
        f"{moment.day:02d}.{moment.month:02d}.{moment.year:04d} "
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )

"""Tests for smsgate.domain.smsc_time: http-api.md §1.4, §2.1 (`time`, `tz`, `period`, `freq`,
`valid`) and §2.4; protocols.md §2.3 for the SMTP colon grammar."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.domain.codes import RequestErrorCode
from smsgate.domain.smsc_time import (
    DEFAULT_VALID,
    MAX_AHEAD,
    Batch,
    Spread,
    TimeFormatError,
    account_zone,
    format_date,
    in_hour_window,
    parse_range_end,
    parse_range_start,
    parse_send_time,
    parse_smtp_send_time,
    parse_spread,
    parse_tz,
    parse_valid,
    spread_batches,
)

INVALID_DATE = RequestErrorCode.INVALID_DATE
PARAMETERS = RequestErrorCode.PARAMETERS

NOW = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)  # 12:30 in Moscow
NOW_TS = 1_740_821_400
YEAR_S = 365 * 86_400

DateParser = Callable[[str, int], datetime]


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def moscow(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    """A Moscow wall time (UTC+3) as UTC."""
    return utc(year, month, day, hour, minute, second) - timedelta(hours=3)


def error_code(excinfo: pytest.ExceptionInfo[TimeFormatError]) -> RequestErrorCode:
    return excinfo.value.code


# --- time zones -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("0", 0),
        ("-0", 0),
        ("-1", -60),
        ("2", 120),
        ("+3", 180),
        ("05", 300),
        ("2.5", 150),
        ("2.50", 150),
        ("-2.75", -165),
        ("0.1", 6),
        ("-15", -900),
        ("11", 660),
        ("-14.75", -885),
        ("10.5", 630),
        (" 1 ", 60),
    ],
)
def test_parse_tz_accepts_hours_relative_to_moscow(text: str, minutes: int) -> None:
    assert parse_tz(text, 999) == minutes


@pytest.mark.parametrize("text", [None, "", "   "])
def test_parse_tz_absent_takes_the_account_setting(text: str | None) -> None:
    assert parse_tz(text, -120) == -120


@pytest.mark.parametrize(
    "text",
    [
        "abc",
        "2.",
        ".5",
        "1e1",
        "1,5",
        "++1",
        "+-1",
        "123",
        "-16",
        "-15.25",
        "11.25",
        "12",
        "2.33",
        "2.12345",
        "0.001",
        "\u0662",  # ARABIC-INDIC DIGIT TWO
        "2 h",
    ],
)
def test_parse_tz_rejects_with_error_5(text: str) -> None:
    with pytest.raises(TimeFormatError) as excinfo:
        parse_tz(text, 0)
    assert error_code(excinfo) is INVALID_DATE


@pytest.mark.parametrize(
    ("tz_minutes", "utc_offset"),
    [
        (0, timedelta(hours=3)),
        (-180, timedelta(0)),
        (-900, timedelta(hours=-12)),
        (660, timedelta(hours=14)),
        (150, timedelta(hours=5, minutes=30)),
    ],
)
def test_account_zone_is_moscow_plus_offset(tz_minutes: int, utc_offset: timedelta) -> None:
    assert account_zone(tz_minutes) == timezone(utc_offset)


@pytest.mark.parametrize("tz_minutes", [-901, 661, 24 * 60])
def test_account_zone_out_of_range_is_a_contract_error(tz_minutes: int) -> None:
    with pytest.raises(ValueError, match="out of range") as excinfo:
        account_zone(tz_minutes)
    assert not isinstance(excinfo.value, TimeFormatError)


@given(st.integers(-60, 44).map(lambda quarter: quarter * 15))
def test_parse_tz_round_trips_quarter_hours(minutes: int) -> None:
    assert parse_tz(str(Decimal(minutes) / 60), 0) == minutes


# --- `time` -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", "0", "   ", " 0 ", "+0", "00", "01", "+000"])
def test_send_time_immediately(value: str) -> None:
    assert parse_send_time(value, 0, NOW) is None


@pytest.mark.parametrize(
    ("value", "tz_minutes", "expected"),
    [
        # DDMMYYhhmm, read in tz
        ("0103251300", 0, moscow(2025, 3, 1, 13, 0)),
        ("0103251231", 0, moscow(2025, 3, 1, 12, 31)),
        ("0103251230", 0, None),  # exactly now
        ("0103251229", 0, None),  # past
        ("0103250000", 0, None),
        ("0103251300", -60, utc(2025, 3, 1, 11, 0)),
        ("0203251300", 150, utc(2025, 3, 2, 7, 30)),
        ("0203250000", -900, utc(2025, 3, 2, 12, 0)),
        ("0203250000", 660, utc(2025, 3, 1, 10, 0)),
        ("3112252359", 0, moscow(2025, 12, 31, 23, 59)),
        ("0103261230", 0, NOW + MAX_AHEAD),  # exactly 365 days ahead
        ("0103251300", 180, None),  # 13:00 at UTC+6 is 07:00 UTC: past
        # DD.MM.YY hh:mm and DD.MM.YYYY hh:mm
        ("01.03.25 13:00", 0, moscow(2025, 3, 1, 13, 0)),
        ("01.03.2025 13:00", 0, moscow(2025, 3, 1, 13, 0)),
        ("1.3.25 13:00", 0, moscow(2025, 3, 1, 13, 0)),
        ("01.03.25 9:00", 0, None),
        ("01.03.25  13:00", 0, moscow(2025, 3, 1, 13, 0)),
        (" 01.03.25 13:00 ", 0, moscow(2025, 3, 1, 13, 0)),
        ("01.03.2026 12:30", 0, NOW + MAX_AHEAD),
        ("02.03.2025 00:00", -900, utc(2025, 3, 2, 12, 0)),
        ("02.03.2025 00:00", 660, utc(2025, 3, 1, 10, 0)),
        ("01.03.2024 13:00", 0, None),
        ("01.01.1970 00:00", 0, None),
        # 0<unix>: absolute, tz does not apply
        (f"0{NOW_TS + 3600}", 0, NOW + timedelta(hours=1)),
        (f"0{NOW_TS + 3600}", -900, NOW + timedelta(hours=1)),
        (f"0{NOW_TS + 3600}", 660, NOW + timedelta(hours=1)),
        (f"0{NOW_TS}", 0, None),
        (f"0{NOW_TS - 1}", 0, None),
        (f"0{NOW_TS + YEAR_S}", 0, NOW + MAX_AHEAD),
        ("01234567890", 0, None),  # 0 + a ten-digit timestamp of 2009: past
        # +m
        ("+1", 0, NOW + timedelta(minutes=1)),
        ("+60", 0, NOW + timedelta(hours=1)),
        ("+60", 660, NOW + timedelta(hours=1)),
        ("+0060", 0, NOW + timedelta(hours=1)),
        ("+525600", 0, NOW + MAX_AHEAD),
    ],
)
def test_send_time_forms(value: str, tz_minutes: int, expected: datetime | None) -> None:
    result = parse_send_time(value, tz_minutes, NOW)
    assert result == expected
    if result is not None:
        assert result.tzinfo is UTC


@pytest.mark.parametrize(
    "value",
    [
        # more than 365 days ahead
        "0103261231",
        "01.03.2026 12:31",
        "01.03.26 12:31",
        f"0{NOW_TS + YEAR_S + 1}",
        "0999999999999999999",
        "+525601",
        "+999999999",
        "31.12.9999 23:59",
        # dates and times that do not exist
        "2902251200",
        "3104251200",
        "0013251200",
        "0100251200",
        "0003251200",
        "0103252400",
        "0103251260",
        "0999999999",  # ten digits are DDMMYYhhmm, never 0<unix>
        "29.02.2025 10:00",
        "32.01.25 10:00",
        "01.13.25 10:00",
        "01.03.25 24:00",
        "01.03.25 13:60",
        "01.01.0001 00:00",  # before the start of the calendar in UTC
        # not a form at all
        "abc",
        "now",
        "1",
        "12",
        "123456789",
        "12345678901",
        "01.03.25",
        "01.03.25 13",
        "01.03.25 13:00:00",
        "01.03.025 13:00",
        "001.03.25 13:00",
        "01-03-25 13:00",
        "01.03.25T13:00",
        "01.03.25\t13:00",
        "01.03.25 13:00 +3",
        "0" + "1" * 19,
        "+",
        "+-5",
        "-5",
        "+1.5",
        "+ 5",
        "+1234567890",
        "\u0660\u0661\u0660\u0663\u0662\u0665\u0661\u0663\u0660\u0660",  # Arabic-Indic digits
        "\uff0b60",  # FULLWIDTH PLUS SIGN
        # h1-h2 out of range or malformed
        "24-6",
        "9-25",
        "99-1",
        "9-",
        "-9",
        "9-18-20",
        "009-18",
        "9 - 18",
    ],
)
def test_send_time_rejected_with_error_5(value: str) -> None:
    with pytest.raises(TimeFormatError) as excinfo:
        parse_send_time(value, 0, NOW)
    assert error_code(excinfo) is INVALID_DATE
    assert isinstance(excinfo.value, ValueError)
    assert str(excinfo.value).startswith("error 5: ")


@pytest.mark.parametrize(
    ("value", "now", "expected"),
    [
        # 2024 is a leap year
        ("2902241200", utc(2024, 1, 10), moscow(2024, 2, 29, 12, 0)),
        ("29.02.24 12:00", utc(2024, 1, 10), moscow(2024, 2, 29, 12, 0)),
        ("29.02.2024 12:00", utc(2024, 1, 10), moscow(2024, 2, 29, 12, 0)),
        # 365 days, not "one year": from 01.03.2023 the limit falls on 29.02.2024
        ("29.02.2024 03:00", utc(2023, 3, 1), utc(2024, 2, 29)),
        ("2902240300", utc(2023, 3, 1), utc(2024, 2, 29)),
        ("+525600", utc(2023, 3, 1), utc(2024, 2, 29)),
    ],
)
def test_send_time_leap_day(value: str, now: datetime, expected: datetime) -> None:
    assert parse_send_time(value, 0, now) == expected


@pytest.mark.parametrize("value", ["01.03.2024 03:00", "0103240300", "29.02.2024 03:01"])
def test_send_time_365_days_across_a_leap_day_is_too_far(value: str) -> None:
    with pytest.raises(TimeFormatError):
        parse_send_time(value, 0, utc(2023, 3, 1))


@pytest.mark.parametrize(
    ("value", "tz_minutes", "expected"),
    [
        # NOW is 12:30 in Moscow
        ("9-18", 0, None),
        ("12-13", 0, None),  # h1 is inside the window
        ("0-24", 0, None),
        ("5-0", 0, None),  # wraps: [5, 24)
        ("12-0", 0, None),
        ("10-12", 0, moscow(2025, 3, 2, 10, 0)),  # h2 is outside: tomorrow
        ("13-18", 0, moscow(2025, 3, 1, 13, 0)),
        ("22-6", 0, moscow(2025, 3, 1, 22, 0)),
        ("0-12", 0, moscow(2025, 3, 2, 0, 0)),
        ("12-12", 0, moscow(2025, 3, 2, 12, 0)),  # empty window: next 12:00 is tomorrow
        ("13-13", 0, moscow(2025, 3, 1, 13, 0)),
        ("23-24", 0, moscow(2025, 3, 1, 23, 0)),
        ("08-09", 0, moscow(2025, 3, 2, 8, 0)),
        # the current hour is read in tz: UTC-12 is 21:30 on 28.02
        ("9-18", -900, utc(2025, 3, 1, 21, 0)),
        ("21-22", -900, None),
        ("22-6", -900, utc(2025, 3, 1, 10, 0)),
        # UTC+14 is 23:30 on 01.03
        ("9-18", 660, utc(2025, 3, 1, 19, 0)),
        ("22-6", 660, None),
        ("23-0", 660, None),
        # UTC+5:30 is 15:00
        ("9-15", 150, utc(2025, 3, 2, 3, 30)),
        ("15-16", 150, None),
    ],
)
def test_send_time_hour_window(value: str, tz_minutes: int, expected: datetime | None) -> None:
    assert parse_send_time(value, tz_minutes, NOW) == expected


@pytest.mark.parametrize(
    ("moscow_now", "expected"),
    [
        (moscow(2025, 3, 1, 23, 10), None),
        (moscow(2025, 3, 2, 0, 0), None),
        (moscow(2025, 3, 2, 5, 59, 59), None),
        (moscow(2025, 3, 2, 6, 0), moscow(2025, 3, 2, 22, 0)),
        (moscow(2025, 3, 2, 12, 0), moscow(2025, 3, 2, 22, 0)),
        (moscow(2025, 3, 2, 21, 59, 59), moscow(2025, 3, 2, 22, 0)),
        (moscow(2025, 3, 2, 22, 0), None),
        (moscow(2025, 12, 31, 21, 0), moscow(2025, 12, 31, 22, 0)),
    ],
)
def test_send_time_22_6_wraps_midnight(moscow_now: datetime, expected: datetime | None) -> None:
    assert parse_send_time("22-6", 0, moscow_now) == expected


def test_send_time_empty_window_at_exactly_h1_waits_a_day() -> None:
    assert parse_send_time("12-12", 0, moscow(2025, 3, 1, 12, 0)) == moscow(2025, 3, 2, 12, 0)


def test_in_hour_window_matches_the_set_definition_exhaustively() -> None:
    for hour, h1, h2 in itertools.product(range(24), range(24), range(25)):
        window = {h % 24 for h in range(h1, h2 if h2 > h1 else h2 + 24)} if h1 != h2 else set()
        assert in_hour_window(hour, h1, h2) is (hour in window), (hour, h1, h2)


def test_send_time_accepts_now_in_any_offset() -> None:
    result = parse_send_time("+60", 0, NOW.astimezone(timezone(timedelta(hours=3))))
    assert result == NOW + timedelta(hours=1)
    assert result is not None and result.tzinfo is UTC


def test_send_time_naive_now_is_a_contract_error() -> None:
    with pytest.raises(ValueError, match="aware") as excinfo:
        parse_send_time("+60", 0, datetime(2025, 3, 1, 9, 30))
    assert not isinstance(excinfo.value, TimeFormatError)


def test_send_time_stored_tz_out_of_range_is_a_contract_error() -> None:
    with pytest.raises(ValueError, match="out of range") as excinfo:
        parse_send_time("+60", 661, NOW)
    assert not isinstance(excinfo.value, TimeFormatError)


_SECONDS_AHEAD = st.integers(60, YEAR_S).map(lambda s: s - s % 60)


@given(ahead=_SECONDS_AHEAD, tz_minutes=st.integers(-900, 660))
def test_send_time_dotted_and_compact_agree(ahead: int, tz_minutes: int) -> None:
    """A wall time in tz written in each absolute form parses to that instant."""
    target = NOW + timedelta(seconds=ahead)
    wall = target.astimezone(account_zone(tz_minutes))
    forms = [
        wall.strftime("%d%m%y%H%M"),
        wall.strftime("%d.%m.%y %H:%M"),
        wall.strftime("%d.%m.%Y %H:%M"),
        f"0{int(target.timestamp())}",
    ]
    results = {parse_send_time(form, tz_minutes, NOW) for form in forms}
    assert results == {target}


@given(minutes=st.integers(0, 525_600))
def test_send_time_relative_minutes(minutes: int) -> None:
    expected = None if minutes == 0 else NOW + timedelta(minutes=minutes)
    assert parse_send_time(f"+{minutes}", 0, NOW) == expected


_NOWS = st.datetimes(datetime(2000, 1, 1), datetime(2090, 1, 1), timezones=st.just(UTC))


@given(now=_NOWS, h1=st.integers(0, 23), h2=st.integers(0, 24), tz_minutes=st.integers(-900, 660))
def test_send_time_hour_window_properties(now: datetime, h1: int, h2: int, tz_minutes: int) -> None:
    """Now exactly when inside the window; otherwise the first h1:00 in tz after now."""
    result = parse_send_time(f"{h1}-{h2}", tz_minutes, now)
    local_now = now.astimezone(account_zone(tz_minutes))
    if in_hour_window(local_now.hour, h1, h2):
        assert result is None
        return
    assert result is not None
    local = result.astimezone(account_zone(tz_minutes))
    assert (local.hour, local.minute, local.second, local.microsecond) == (h1, 0, 0, 0)
    assert now < result <= now + timedelta(days=1)


@given(now=_NOWS, text=st.text(max_size=24), tz_minutes=st.integers(-900, 660))
def test_send_time_any_text_is_now_a_time_in_range_or_error_5(
    now: datetime, text: str, tz_minutes: int
) -> None:
    try:
        result = parse_send_time(text, tz_minutes, now)
    except TimeFormatError as exc:
        assert exc.code is INVALID_DATE
        return
    assert result is None or now < result <= now + MAX_AHEAD


@given(now=_NOWS, digits=st.text("0123456789.-+: ", min_size=1, max_size=20))
def test_send_time_digit_soup_is_now_a_time_in_range_or_error_5(now: datetime, digits: str) -> None:
    try:
        result = parse_send_time(digits, 0, now)
    except TimeFormatError as exc:
        assert exc.code is INVALID_DATE
        return
    assert result is None or now < result <= now + MAX_AHEAD


# --- `time` in the SMTP colon grammar ---------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", None),
        ("0", None),
        ("0103251300", moscow(2025, 3, 1, 13, 0)),
        ("13-18", moscow(2025, 3, 1, 13, 0)),
        ("9-18", None),
        (f"0{NOW_TS + 60}", NOW + timedelta(minutes=1)),
        ("+60", NOW + timedelta(hours=1)),
    ],
)
def test_smtp_send_time_forms_without_colon(value: str, expected: datetime | None) -> None:
    assert parse_smtp_send_time(value, 0, NOW) == expected
    assert parse_smtp_send_time(value, 0, NOW) == parse_send_time(value, 0, NOW)


@pytest.mark.parametrize(
    "value", ["01.03.25 13:00", "01.03.2025 13:00", "13:00", ":", "01.03.25", "0103261231", "x"]
)
def test_smtp_send_time_rejects_colon_forms_with_error_5(value: str) -> None:
    with pytest.raises(TimeFormatError) as excinfo:
        parse_smtp_send_time(value, 0, NOW)
    assert error_code(excinfo) is INVALID_DATE


# --- `period` / `freq` ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "freq", "expected"),
    [
        (None, None, None),
        (None, "30", None),
        (None, "abc", None),  # freq without period is ignored, even when malformed
        ("", "abc", None),
        ("  ", "0", None),
        ("1", None, Spread(Decimal(1), 60)),
        ("1", "", Spread(Decimal(1), 60)),
        ("0.1", "1", Spread(Decimal("0.1"), 1)),
        ("720", "1440", Spread(Decimal(720), 1440)),
        ("720.0", "60", Spread(Decimal(720), 60)),
        (" 2.5 ", " 15 ", Spread(Decimal("2.5"), 15)),
        ("0.100000", "0060", Spread(Decimal("0.1"), 60)),
    ],
)
def test_parse_spread(period: str | None, freq: str | None, expected: Spread | None) -> None:
    assert parse_spread(period, freq) == expected


@pytest.mark.parametrize(
    ("period", "freq"),
    [
        ("0", None),
        ("0.09", None),
        ("0.0999999", None),
        ("720.01", None),
        ("721", None),
        ("1000", None),
        ("-1", None),
        ("abc", None),
        ("1e2", None),
        ("1,5", None),
        (".5", None),
        ("5.", None),
        ("1", "0"),
        ("1", "1441"),
        ("1", "1.5"),
        ("1", "-5"),
        ("1", "abc"),
        ("1", "99999"),
    ],
)
def test_parse_spread_rejects_with_error_1(period: str, freq: str | None) -> None:
    with pytest.raises(TimeFormatError) as excinfo:
        parse_spread(period, freq)
    assert error_code(excinfo) is PARAMETERS
    assert str(excinfo.value).startswith("error 1: ")


@pytest.mark.parametrize("period_h", [Decimal("NaN"), Decimal("Infinity"), Decimal("0.05")])
def test_spread_constructor_validates(period_h: Decimal) -> None:
    with pytest.raises(TimeFormatError) as excinfo:
        Spread(period_h)
    assert error_code(excinfo) is PARAMETERS


@pytest.mark.parametrize(
    ("period", "freq", "limit"),
    [
        ("0.1", 60, 1),
        ("0.1", 1, 7),
        ("0.1", 7, 1),
        ("1", 60, 2),
        ("1.99", 60, 2),
        ("2", 60, 3),
        ("0.5", 15, 3),
        ("720", 1, 43_201),
        ("720", 1440, 31),
        ("24", 1440, 2),
    ],
)
def test_spread_batch_limit(period: str, freq: int, limit: int) -> None:
    assert Spread(Decimal(period), freq).batch_limit == limit


@pytest.mark.parametrize(
    ("n", "period", "freq", "sizes"),
    [
        (0, "1", 60, []),
        (1, "720", 1, [1]),
        (9, "0.1", 60, [9]),
        (10, "2", 60, [4, 3, 3]),
        (3, "2", 60, [1, 1, 1]),
        (2, "2", 60, [1, 1]),  # at most one batch per recipient
        (7, "1", 30, [3, 2, 2]),
        (6, "1", 20, [2, 2, 1, 1]),
        (100, "720", 1440, [4] * 7 + [3] * 24),
        (5, "720", 1, [1] * 5),
    ],
)
def test_spread_batches(n: int, period: str, freq: int, sizes: list[int]) -> None:
    start = utc(2025, 3, 1, 10, 0)
    batches = spread_batches(n, Decimal(period), freq, start)
    assert [batch.size for batch in batches] == sizes
    assert [batch.release_at for batch in batches] == [
        start + timedelta(minutes=k * freq) for k in range(len(sizes))
    ]


def test_spread_batches_are_released_in_utc_and_unpack_as_pairs() -> None:
    start = datetime(2025, 3, 1, 13, 0, tzinfo=timezone(timedelta(hours=3)))
    (first_size, first_at), (second_size, second_at) = spread_batches(3, Decimal(1), 60, start)
    assert (first_size, first_at, second_size, second_at) == (
        2,
        utc(2025, 3, 1, 10, 0),
        1,
        utc(2025, 3, 1, 11, 0),
    )
    assert first_at.tzinfo is UTC
    assert spread_batches(1, Decimal(1), 60, start) == [Batch(1, utc(2025, 3, 1, 10, 0))]


def test_spread_batches_last_release_after_30_days() -> None:
    batches = spread_batches(100, Decimal(720), 1440, NOW)
    assert batches[-1].release_at == NOW + timedelta(days=30)


def test_spread_method_equals_function() -> None:
    spread = Spread(Decimal("2.5"), 45)
    assert spread.batches(17, NOW) == spread_batches(17, Decimal("2.5"), 45, NOW)


def test_spread_batches_contract_errors() -> None:
    with pytest.raises(ValueError, match="negative"):
        spread_batches(-1, Decimal(1), 60, NOW)
    with pytest.raises(ValueError, match="aware"):
        spread_batches(1, Decimal(1), 60, datetime(2025, 3, 1))
    with pytest.raises(TimeFormatError):
        spread_batches(1, Decimal(1), 0, NOW)


@given(
    n=st.integers(0, 50_000),
    period_h=st.decimals(Decimal("0.1"), Decimal(720), places=2),
    freq_min=st.integers(1, 1440),
)
def test_spread_batches_properties(n: int, period_h: Decimal, freq_min: int) -> None:
    batches = spread_batches(n, period_h, freq_min, NOW)
    sizes = [batch.size for batch in batches]
    assert sum(sizes) == n
    assert len(batches) == min(n, math.floor(period_h * 60 / freq_min) + 1)
    assert sizes == sorted(sizes, reverse=True)
    assert not sizes or (sizes[-1] >= 1 and sizes[0] - sizes[-1] <= 1)
    assert [batch.release_at for batch in batches] == [
        NOW + timedelta(minutes=k * freq_min) for k in range(len(batches))
    ]
    assert (len(batches) - 1) * freq_min <= period_h * 60  # the last batch leaves within the period


# --- `valid` ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, DEFAULT_VALID),
        ("", timedelta(hours=24)),
        ("  ", timedelta(hours=24)),
        ("1", timedelta(hours=1)),
        ("01", timedelta(hours=1)),
        ("12", timedelta(hours=12)),
        (" 12 ", timedelta(hours=12)),
        ("24", timedelta(hours=24)),
        ("00:01", timedelta(minutes=1)),
        ("0:01", timedelta(minutes=1)),
        ("00:59", timedelta(minutes=59)),
        ("1:30", timedelta(minutes=90)),
        ("23:59", timedelta(hours=23, minutes=59)),
        ("24:00", timedelta(hours=24)),
    ],
)
def test_parse_valid(value: str | None, expected: timedelta) -> None:
    assert parse_valid(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "0",
        "00",
        "25",
        "99",
        "100",
        "-1",
        "+1",
        "1.5",
        "00:00",
        "24:01",
        "25:00",
        "12:60",
        "1:5",
        "12:30:00",
        "abc",
        "1h",
        "\u0661",  # ARABIC-INDIC DIGIT ONE
    ],
)
def test_parse_valid_rejects_with_error_1(value: str) -> None:
    with pytest.raises(TimeFormatError) as excinfo:
        parse_valid(value)
    assert error_code(excinfo) is PARAMETERS


@given(st.integers(1, 24 * 60))
def test_parse_valid_clock_form_round_trips(minutes: int) -> None:
    assert parse_valid(f"{minutes // 60:02d}:{minutes % 60:02d}") == timedelta(minutes=minutes)


# --- `start` / `end` date inputs --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "tz_minutes", "expected"),
    [
        ("01.03.2025", 0, moscow(2025, 3, 1)),
        ("01.03.2025 12:30", 0, moscow(2025, 3, 1, 12, 30)),
        ("01.03.2025 12:30:15", 0, moscow(2025, 3, 1, 12, 30, 15)),
        ("1.3.2025 9:05", 0, moscow(2025, 3, 1, 9, 5)),
        (" 01.03.2025  12:30 ", 0, moscow(2025, 3, 1, 12, 30)),
        ("01.03.2025", -900, utc(2025, 3, 1, 12, 0)),
        ("01.03.2025", 660, utc(2025, 2, 28, 10, 0)),
        ("01.03.2025", 150, utc(2025, 2, 28, 18, 30)),
        ("29.02.2024", 0, moscow(2024, 2, 29)),
        ("01.01.1970 03:00", 0, utc(1970, 1, 1)),
    ],
)
def test_parse_range_start(value: str, tz_minutes: int, expected: datetime) -> None:
    result = parse_range_start(value, tz_minutes)
    assert result == expected
    assert result.tzinfo is UTC


@pytest.mark.parametrize(
    ("value", "tz_minutes", "expected"),
    [
        ("01.03.2025", 0, moscow(2025, 3, 2)),  # end of that day
        ("28.02.2025", 0, moscow(2025, 3, 1)),
        ("28.02.2024", 0, moscow(2024, 2, 29)),
        ("29.02.2024", 0, moscow(2024, 3, 1)),
        ("31.12.2024", 0, moscow(2025, 1, 1)),
        ("01.03.2025", -900, utc(2025, 3, 2, 12, 0)),
        ("01.03.2025", 660, utc(2025, 3, 1, 10, 0)),
        ("01.03.2025 12:30", 0, moscow(2025, 3, 1, 12, 31)),
        ("01.03.2025 12:30:15", 0, moscow(2025, 3, 1, 12, 30, 16)),
        ("01.03.2025 23:59", 0, moscow(2025, 3, 2)),
        ("01.03.2025 23:59:59", 0, moscow(2025, 3, 2)),
    ],
)
def test_parse_range_end_is_an_exclusive_bound(
    value: str, tz_minutes: int, expected: datetime
) -> None:
    result = parse_range_end(value, tz_minutes)
    assert result == expected
    assert result.tzinfo is UTC


@pytest.mark.parametrize(
    "value",
    [
        "",
        "abc",
        "01.03.25",
        "01.03.025",
        "2025-03-01",
        "01/03/2025",
        "01.03.2025T12:30",
        "01.03.2025 12",
        "01.03.2025 12:3",
        "01.03.2025 12:30:1",
        "01.03.2025 12:30:15.5",
        "01.03.2025\t12:30",
        "29.02.2025",
        "31.04.2025",
        "00.03.2025",
        "01.13.2025",
        "01.00.2025",
        "01.03.2025 24:00",
        "01.03.2025 12:60",
        "01.03.2025 12:30:60",
        "\u0660\u0661.03.2025",
    ],
)
@pytest.mark.parametrize("parse", [parse_range_start, parse_range_end])
def test_date_input_rejected_with_error_5(value: str, parse: DateParser) -> None:
    with pytest.raises(TimeFormatError) as excinfo:
        parse(value, 0)
    assert error_code(excinfo) is INVALID_DATE


@pytest.mark.parametrize(
    ("parse", "value", "tz_minutes"),
    [
        (parse_range_start, "01.01.0001", 660),
        (parse_range_end, "31.12.9999", -900),
        (parse_range_end, "31.12.9999 23:59:59", 0),
    ],
)
def test_date_input_past_the_calendar_is_error_5(
    parse: DateParser, value: str, tz_minutes: int
) -> None:
    with pytest.raises(TimeFormatError) as excinfo:
        parse(value, tz_minutes)
    assert error_code(excinfo) is INVALID_DATE


# --- date output ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unix_seconds", "tz_minutes", "expected"),
    [
        (0, 0, "01.01.1970 03:00:00"),
        (0, -180, "01.01.1970 00:00:00"),
        (NOW_TS, 0, "01.03.2025 12:30:00"),
        (NOW_TS + 0.999, 0, "01.03.2025 12:30:00"),
        (NOW_TS, -900, "28.02.2025 21:30:00"),
        (NOW_TS, 660, "01.03.2025 23:30:00"),
        (NOW_TS, 150, "01.03.2025 15:00:00"),
        (NOW_TS, -60, "01.03.2025 11:30:00"),
        (moscow(2024, 2, 29, 23, 59, 59).timestamp(), 0, "29.02.2024 23:59:59"),
        (-1, -180, "31.12.1969 23:59:59"),
        (-0.5, -180, "31.12.1969 23:59:59"),
        (utc(1, 1, 1, 0, 0, 5).timestamp(), -180, "01.01.0001 00:00:05"),
    ],
)
def test_format_date(unix_seconds: float, tz_minutes: int, expected: str) -> None:
    assert format_date(unix_seconds, tz_minutes) == expected


def test_format_date_stored_tz_out_of_range_is_a_contract_error() -> None:
    with pytest.raises(ValueError, match="out of range"):
        format_date(NOW_TS, -901)


_UNIX = st.floats(-2_208_988_800, 7_258_118_400, allow_nan=False)  # 1900..2200
_TZ_MINUTES = st.integers(-900, 660)


@given(unix_seconds=_UNIX, tz_minutes=_TZ_MINUTES)
def test_format_then_parse_round_trips_to_the_second(unix_seconds: float, tz_minutes: int) -> None:
    text = format_date(unix_seconds, tz_minutes)
    whole = math.floor(unix_seconds)
    assert parse_range_start(text, tz_minutes).timestamp() == whole
    assert parse_range_end(text, tz_minutes).timestamp() == whole + 1


@given(
    wall=st.datetimes(datetime(1900, 1, 1), datetime(2200, 1, 1)).map(
        lambda moment: moment.replace(microsecond=0)
    ),
    tz_minutes=_TZ_MINUTES,
)
def test_parse_then_format_round_trips(wall: datetime, tz_minutes: int) -> None:
    text = (
        f"{wall.day:02d}.{wall.month:02d}.{wall.year:04d} "
        f"{wall.hour:02d}:{wall.minute:02d}:{wall.second:02d}"
    )
    assert format_date(parse_range_start(text, tz_minutes).timestamp(), tz_minutes) == text
    day = text[:10]
    start_of_day = parse_range_start(day, tz_minutes)
    assert parse_range_end(day, tz_minutes) - start_of_day == timedelta(days=1)
    assert format_date(start_of_day.timestamp(), tz_minutes) == f"{day} 00:00:00"


def test_time_format_error_carries_code_and_detail() -> None:
    error = TimeFormatError("bad")
    assert (error.code, error.detail, str(error)) == (INVALID_DATE, "bad", "error 5: bad")
    error = TimeFormatError("worse", PARAMETERS)
    assert (error.code, str(error)) == (PARAMETERS, "error 1: worse")

"""Export filters and CSV records (http-api.md §13), and the task states against codes.md §5.1."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.domain.codes import ExportStatus
from smsgate.domain.exports import (
    CSV_COLUMNS,
    MESSAGE_FIELDS,
    CsvRowFormatter,
    ExportRequestError,
    add_months,
    display_units,
    export_file_name,
    parse_filters,
    parse_task_name,
)
from smsgate.domain.money import display
from smsgate.domain.smsc_time import format_date

CODES_MD = Path(__file__).resolve().parents[3] / "shared" / "spec" / "codes.md"
HTTP_API_MD = CODES_MD.with_name("http-api.md")


def test_task_states_match_codes_md() -> None:
    if not CODES_MD.exists():
        pytest.skip(f"{CODES_MD} not present")
    text = CODES_MD.read_text(encoding="utf-8")
    section = text[text.index("### 5.1 Export tasks") : text.index("### 5.2")]
    rows = re.findall(r"^\| (\d) \| [^|]+ \| ([^|]+?) \|", section, flags=re.M)
    assert {int(code): russian for code, russian in rows} == {
        int(status): status.russian for status in ExportStatus
    }


def test_csv_columns_match_the_spec() -> None:
    if not HTTP_API_MD.exists():
        pytest.skip(f"{HTTP_API_MD} not present")
    text = HTTP_API_MD.read_text(encoding="utf-8")
    assert f"`{','.join(CSV_COLUMNS)}`" in text
    assert len(MESSAGE_FIELDS) == len(CSV_COLUMNS) - 1  # status_name is derived


def test_period_is_read_in_the_accounts_zone() -> None:
    filters = parse_filters("01.11.2025", "30.11.2025", "", "", "", tz_minutes=60)
    # Moscow + 1 h is UTC+4; an end without time means the end of that day.
    assert filters.period_start == datetime(2025, 10, 31, 20, tzinfo=UTC).timestamp()
    assert filters.period_end == datetime(2025, 11, 30, 20, tzinfo=UTC).timestamp()


def test_times_in_start_and_end() -> None:
    filters = parse_filters("01.11.2025 10:30", "01.11.2025 11:00", "", "", "", 0)
    assert filters.period_end - filters.period_start == 31 * 60


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("", "01.01.2025"),
        ("01.01.2025", ""),
        ("31.02.2025", "01.03.2025"),
        ("2025-01-01", "01.02.2025"),
        ("02.01.2025", "01.01.2025"),
        ("01.01.2025 10:00", "01.01.2025 09:59"),
        ("01.01.2025", "01.01.2026"),
        ("31.01.2025", "01.03.2026"),
    ],
)
def test_bad_periods_are_refused(start: str, end: str) -> None:
    with pytest.raises(ExportRequestError):
        parse_filters(start, end, "", "", "", 0)


def test_recipient_statuses_and_types_lists() -> None:
    filters = parse_filters(
        "01.01.2025",
        "31.01.2025",
        "+7 916 123-45-67, 89161234567; User@Example.COM, @name, #123",
        "20, 1,1",
        "0,4",
        0,
    )
    assert filters.phones == ("79161234567", "user@example.com", "@name", "#123")
    assert filters.statuses == (1, 20)
    assert filters.types == (0, 4)


@pytest.mark.parametrize(
    ("phones", "statuses", "types"),
    [
        ("12ab", "", ""),
        ("", "-3", ""),
        ("", "5", ""),
        ("", "x", ""),
        ("", "", "9"),
        ("", "", "1.5"),
    ],
)
def test_bad_lists_are_refused(phones: str, statuses: str, types: str) -> None:
    with pytest.raises(ExportRequestError):
        parse_filters("01.01.2025", "31.01.2025", phones, statuses, types, 0)


def test_too_many_phones() -> None:
    phones = ",".join(f"7916{n:07d}" for n in range(1001))
    with pytest.raises(ExportRequestError):
        parse_filters("01.01.2025", "31.01.2025", phones, "", "", 0)


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "a\nb", "tab\there"])
def test_bad_task_names(name: str) -> None:
    with pytest.raises(ExportRequestError):
        parse_task_name(name)


def test_task_name_keeps_text() -> None:
    assert parse_task_name("  Отчёт, март  ") == "Отчёт, март"
    assert export_file_name(12) == "export_12.csv"


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (datetime(2024, 1, 31), 1, datetime(2024, 2, 29)),
        (datetime(2024, 2, 29), 12, datetime(2025, 2, 28)),
        (datetime(2024, 12, 15, 10), 12, datetime(2025, 12, 15, 10)),
        (datetime(2024, 11, 30), 3, datetime(2025, 2, 28)),
    ],
)
def test_add_months(start: datetime, months: int, expected: datetime) -> None:
    assert add_months(start, months) == expected


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_display_units_is_money_display(units: int) -> None:
    assert display_units(units) == display((Decimal(units) / 10_000).quantize(Decimal("0.0001")))


@given(
    st.floats(min_value=0, max_value=4_000_000_000, allow_nan=False),
    st.sampled_from([-15 * 60, -60, 0, 90, 11 * 60]),
)
def test_record_dates_are_format_date(moment: float, tz_minutes: int) -> None:
    assert CsvRowFormatter(tz_minutes).date(moment) == format_date(moment, tz_minutes)


def test_record_fields_in_column_order() -> None:
    row = (
        7,
        "a1",
        "79161234567",
        None,
        "hi",
        None,
        0,
        0.0,
        60.0,
        1,
        0,
        1,
        25_000,
        "RU",
        "MTS",
        "",
        "25001",
    )
    record = CsvRowFormatter(0).record(row)
    assert dict(zip(CSV_COLUMNS, record, strict=True)) == {
        "int_id": "7",
        "id": "a1",
        "phone": "79161234567",
        "sender": "",
        "message": "hi",
        "comment": "",
        "type": "0",
        "send_date": "01.01.1970 03:00:00",
        "last_date": "01.01.1970 03:01:00",
        "status": "1",
        "status_name": "Доставлено",
        "err": "0",
        "sms_cnt": "1",
        "cost": "2.50",
        "country": "RU",
        "operator": "MTS",
        "region": "",
        "mccmnc": "25001",
    }


_TEXT = st.text(st.characters(codec="utf-8"), max_size=30) | st.sampled_from(
    ["", ",", '"', "\r\n", "\n", "\r", 'a,"b"\nc', " lead", "trail "]
)


@given(_TEXT, _TEXT, _TEXT, st.none() | _TEXT, st.none() | _TEXT)
def test_line_is_rfc_4180_and_reads_back(
    client_id: str, phone: str, text: str, sender: str | None, comment: str | None
) -> None:
    row = (
        1,
        client_id,
        phone,
        sender,
        text,
        comment,
        0,
        0.0,
        0.0,
        1,
        0,
        1,
        0,
        None,
        "MTS",
        None,
        "",
    )
    formatter = CsvRowFormatter(0)
    line = formatter.line(row)
    assert line.endswith("\r\n")
    (parsed,) = list(csv.reader(io.StringIO(line, newline="")))
    assert parsed == formatter.record(row)
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerow(formatter.record(row))
    assert line == buffer.getvalue()  # what the csv module itself would write

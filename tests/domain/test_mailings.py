"""Mailings, the pure half: repeats, the stored request, recipient entries (http-api.md §5)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from smsgate.domain.codes import MessageType
from smsgate.domain.mailings import (
    Entry,
    MailingError,
    Repeat,
    as_request_text,
    count_entries,
    entries,
    next_run,
    pack,
    parse_name,
    unpack,
)
from smsgate.domain.sending import SendRequest

MSK = timezone(timedelta(hours=3))


def msk(text: str) -> float:
    return datetime.strptime(text, "%d.%m.%Y %H:%M").replace(tzinfo=MSK).timestamp()


@pytest.mark.parametrize(
    ("rpt", "anchor", "after", "expected"),
    [
        (Repeat.NONE, "03.03.2025 10:00", "03.03.2025 10:00", None),
        (Repeat.HOURLY, "03.03.2025 10:00", "03.03.2025 10:00", "03.03.2025 11:00"),
        (Repeat.HOURLY, "03.03.2025 10:00", "03.03.2025 13:30", "03.03.2025 14:00"),
        (Repeat.DAILY, "03.03.2025 10:00", "03.03.2025 10:00", "04.03.2025 10:00"),
        (Repeat.DAILY, "03.03.2025 10:00", "10.03.2025 09:00", "10.03.2025 10:00"),
        # 07.03.2025 is a Friday: the next working day is Monday.
        (Repeat.WORKDAYS, "07.03.2025 10:00", "07.03.2025 10:00", "10.03.2025 10:00"),
        (Repeat.WORKDAYS, "03.03.2025 10:00", "03.03.2025 10:00", "04.03.2025 10:00"),
        (Repeat.WEEKENDS, "03.03.2025 10:00", "03.03.2025 10:00", "08.03.2025 10:00"),
        (Repeat.WEEKENDS, "08.03.2025 10:00", "08.03.2025 10:00", "09.03.2025 10:00"),
        (Repeat.WEEKLY, "03.03.2025 10:00", "03.03.2025 10:00", "10.03.2025 10:00"),
        (Repeat.MONTHLY, "31.01.2025 10:00", "31.01.2025 10:00", "31.03.2025 10:00"),
        (Repeat.MONTHLY, "15.12.2025 10:00", "15.12.2025 10:00", "15.01.2026 10:00"),
        (Repeat.YEARLY, "29.02.2024 10:00", "29.02.2024 10:00", "29.02.2028 10:00"),
        (Repeat.YEARLY, "01.03.2025 10:00", "01.03.2025 10:00", "01.03.2026 10:00"),
    ],
)
def test_next_run(rpt: Repeat, anchor: str, after: str, expected: str | None) -> None:
    got = next_run(msk(anchor), msk(after), rpt, 0)
    assert got == (msk(expected) if expected else None)


def test_next_run_follows_the_account_zone() -> None:
    # 23:30 Moscow on a Friday is 00:30 Saturday at +1 h: the weekend repeat is the next day.
    anchor = msk("07.03.2025 23:30")
    assert next_run(anchor, anchor, Repeat.WEEKENDS, 60) == msk("08.03.2025 23:30")
    assert next_run(anchor, anchor, Repeat.WEEKENDS, 0) == msk("08.03.2025 23:30")
    # Monday 00:30 at +1 h is Sunday 23:30 in Moscow.
    assert next_run(anchor, anchor, Repeat.WORKDAYS, 60) == msk("09.03.2025 23:30")
    assert next_run(anchor, anchor, Repeat.WORKDAYS, 0) == msk("10.03.2025 23:30")


def test_the_stored_request_round_trips() -> None:
    request = SendRequest(
        phones="79161234567,G5",
        mes="hi",
        mes_octets=b"\x00\xff",
        msg_type=MessageType.FLASH,
        translit=1,
        options={"tinyurl": "1"},
        mass=True,
    )
    assert unpack(pack(request)) == request
    assert unpack(pack(SendRequest(list_text="1:a"))) == SendRequest(list_text="1:a")


def test_entries() -> None:
    assert entries(" 79161234567 ;G5\n\n+7 916 1", None) == [
        Entry("79161234567"),
        Entry("G5"),
        Entry("+7 916 1"),
    ]
    assert Entry("G5").group == 5 and Entry("Gx").group is None
    listed = entries("", "1,2:hello: you\n\n3:x")
    assert listed == [Entry("1", "hello: you"), Entry("2", "hello: you"), Entry("3", "x")]
    assert count_entries("", "1,2:hello\n3:x") == count_entries("1;2\n3", None) == 3
    with pytest.raises(MailingError):
        entries("", "no colon")
    assert as_request_text(listed[:1]) == ("", "1:hello: you")
    assert as_request_text([Entry("1"), Entry("2")]) == ("1,2", None)


@pytest.mark.parametrize(
    ("name", "ok"), [("sale", True), ("", False), ("x" * 100, True), ("x" * 101, False)]
)
def test_parse_name(name: str, ok: bool) -> None:
    if ok:
        assert parse_name(name) == name
    else:
        with pytest.raises(MailingError):
            parse_name(name)

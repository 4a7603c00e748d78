"""SMPP absolute and relative times (SMPP 3.4 §7.1.1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.protocols.smpp.constants import CommandStatus
from smsgate.protocols.smpp.errors import SmppError
from smsgate.protocols.smpp.smpp_time import (
    RelativeTime,
    SmppTimeError,
    format_absolute,
    format_relative,
    parse_smpp_time,
    resolve_smpp_time,
    schedule_delivery_time,
    validity_period,
)

NOW = datetime(2025, 1, 31, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", None),
        ("250131150000012+", datetime(2025, 1, 31, 12, 0, tzinfo=UTC)),
        ("250131100000004-", datetime(2025, 1, 31, 11, 0, tzinfo=UTC)),
        ("250131120000500+", datetime(2025, 1, 31, 12, 0, 0, 500_000, tzinfo=UTC)),
        ("000000010000000R", NOW + timedelta(hours=1)),
        ("000100000000000R", datetime(2025, 2, 28, 12, 0, tzinfo=UTC)),
        ("010000000030000R", datetime(2026, 1, 31, 12, 0, 30, tzinfo=UTC)),
    ],
)
def test_resolve(text: str, expected: datetime | None) -> None:
    assert resolve_smpp_time(text, NOW) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2501311500000",
        "250131150000012*",
        "251331150000012+",
        "250131250000012+",
        "250131150000049+",
        "000000010000100R",
        "25013115000001２+",
    ],
)
def test_invalid(text: str) -> None:
    with pytest.raises(SmppTimeError):
        parse_smpp_time(text)


def test_statuses() -> None:
    with pytest.raises(SmppError) as scheduled:
        schedule_delivery_time("nonsense", NOW)
    with pytest.raises(SmppError) as validity:
        validity_period("nonsense", NOW)
    assert scheduled.value.status == CommandStatus.ESME_RINVSCHED
    assert validity.value.status == CommandStatus.ESME_RINVEXPIRY
    assert validity_period("000001000000000R", NOW) == NOW + timedelta(days=1)


@given(
    st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30)),
    st.integers(-48, 48),
)
def test_absolute_round_trip(moment: datetime, quarters: int) -> None:
    aware = moment.replace(
        microsecond=moment.microsecond // 100_000 * 100_000,
        tzinfo=timezone(timedelta(minutes=15 * quarters)),
    )
    text = format_absolute(aware)
    assert len(text) == 16
    assert parse_smpp_time(text) == aware


@given(st.builds(RelativeTime, *(st.integers(0, 99) for _ in range(6))))
def test_relative_round_trip(period: RelativeTime) -> None:
    assert parse_smpp_time(format_relative(period)) == period

"""Months and pro-rata prices of rented numbers (Moscow time)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from smsgate.domain.inbound import (
    PLATFORM_ZONE,
    days_in_month,
    month_start,
    next_month_start,
    pro_rata,
)


def moscow(year: int, month: int, day: int, hour: int, minute: int) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=PLATFORM_ZONE).timestamp()


@pytest.mark.parametrize(
    ("now", "price"),
    [
        (moscow(2025, 11, 1, 0, 0), "300.0000"),
        (moscow(2025, 11, 24, 19, 0), "70.0000"),
        (moscow(2025, 11, 30, 23, 59), "10.0000"),
        (moscow(2024, 2, 29, 12, 0), "10.3448"),  # 1 of 29 days
        (moscow(2025, 12, 31, 0, 0), "9.6774"),
    ],
)
def test_pro_rata(now: float, price: str) -> None:
    assert pro_rata(Decimal("300"), now) == Decimal(price)


def test_month_bounds_in_moscow() -> None:
    # 31.12.2025 22:00 UTC is already January 1st in Moscow.
    new_year = datetime(2025, 12, 31, 22, 0, tzinfo=PLATFORM_ZONE).timestamp() + 3 * 3600
    assert month_start(new_year) == moscow(2026, 1, 1, 0, 0)
    assert next_month_start(moscow(2025, 12, 5, 0, 0)) == moscow(2026, 1, 1, 0, 0)
    assert days_in_month(moscow(2024, 2, 10, 0, 0)) == 29

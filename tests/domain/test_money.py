"""Money rounding and parsing (http-api.md §1.4)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.domain.money import display, parse_amount, to_ledger
from smsgate.store.types import from_money_units, money_units


@pytest.mark.parametrize(
    ("amount", "shown"),
    [("3.3", "3.30"), ("2.005", "2.01"), ("2.0049", "2.00"), ("-2.005", "-2.01"), ("0", "0.00")],
)
def test_display_is_two_decimals_half_up(amount: str, shown: str) -> None:
    assert display(Decimal(amount)) == shown


def test_parse_amount() -> None:
    assert parse_amount(" 12.5 ") == Decimal("12.5000")
    for bad in ("abc", "", "NaN", "Infinity", "1e"):
        with pytest.raises(ValueError):
            parse_amount(bad)


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=4, allow_nan=False))
def test_ledger_units_round_trip(amount: Decimal) -> None:
    ledger = to_ledger(amount)
    assert from_money_units(money_units(ledger)) == ledger


def test_more_than_four_decimals_cannot_be_stored() -> None:
    with pytest.raises(ValueError):
        money_units(Decimal("0.00001"))

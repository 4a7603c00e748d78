"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Dialect, Float
from sqlalchemy.types import TypeDecorator

# Money is kept as an integer number of ten-thousandths: exact on both back ends, and balance
# arithmetic inside SQL (``balance - :cost >= -credit``) stays exact on SQLite too, which has no
# decimal type.
MONEY_SCALE = 10_000


class UnixTime(TypeDecorator[float]):
    """A point in time as Unix seconds (float, UTC).

    SQLite has no time zone aware timestamp type and compares text; storing epoch seconds makes range
    queries and comparisons identical on both back ends.
    """

    impl = Float(precision=53)
    cache_ok = True


class Money(TypeDecorator[Decimal]):
    """A ledger amount with four decimals: ``Decimal`` in Python, ten-thousandths in the database."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | int | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return money_units(Decimal(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return from_money_units(int(value))


def money_units(amount: Decimal) -> int:
    """Ten-thousandths of ``amount``; raises when it has more than four decimals."""
    units = amount * MONEY_SCALE
    if units != units.to_integral_value():
        raise ValueError(f"amount {amount} has more than four decimals")
    return int(units)


def from_money_units(units: int) -> Decimal:
    return (Decimal(units) / MONEY_SCALE).quantize(Decimal("0.0001"))

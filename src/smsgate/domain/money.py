"""Money arithmetic: Decimal only, explicit rounding (http-api.md §1.4).

The ledger keeps four fraction digits; replies show two, rounded half-up.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

LEDGER_QUANTUM = Decimal("0.0001")
DISPLAY_QUANTUM = Decimal("0.01")
ZERO = Decimal("0.0000")


def to_ledger(amount: Decimal) -> Decimal:
    """Round an amount to the ledger's four decimals, half-up."""
    return amount.quantize(LEDGER_QUANTUM, rounding=ROUND_HALF_UP)


def display(amount: Decimal) -> str:
    """The reply form: decimal point, exactly two fraction digits, half-up (``3.30``)."""
    return str(amount.quantize(DISPLAY_QUANTUM, rounding=ROUND_HALF_UP))


def parse_amount(text: str) -> Decimal:
    """Parse a user-supplied amount (``12``, ``12.5``, ``-3.25``); ValueError when it is not a number."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {text!r}") from exc
    if not value.is_finite():
        raise ValueError(f"not an amount: {text!r}")
    return to_ledger(value)

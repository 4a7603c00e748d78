"""Tariff lookup and message cost (pure)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from smsgate.domain.codes import MessageType
from smsgate.domain.pricing import TariffRule, TariffTable, message_cost

RULES = TariffTable(
    [
        TariffRule(price=Decimal("3.00")),
        TariffRule(price=Decimal("2.00"), country="RU"),
        TariffRule(price=Decimal("1.50"), country="RU", operator="MTS"),
        TariffRule(price=Decimal("0.20"), msg_type=MessageType.HLR),
        TariffRule(price=Decimal("0.10"), country="RU", msg_type=MessageType.HLR),
        TariffRule(price=Decimal("9.00"), plan=2, country="RU"),
    ]
)


@pytest.mark.parametrize(
    ("country", "operator", "msg_type", "plan", "price"),
    [
        ("RU", "MTS", MessageType.SMS, 0, "1.50"),
        ("RU", "Beeline", MessageType.SMS, 0, "2.00"),
        ("DE", None, MessageType.SMS, 0, "3.00"),
        ("DE", None, MessageType.HLR, 0, "0.20"),
        ("RU", "MTS", MessageType.HLR, 0, "1.50"),  # operator beats type
        ("RU", "Beeline", MessageType.HLR, 0, "0.10"),
        ("RU", "MTS", MessageType.SMS, 2, "9.00"),  # plan rules first
        ("DE", None, MessageType.SMS, 2, "3.00"),  # then plan 0
    ],
)
def test_most_specific_rule_wins(
    country: str, operator: str | None, msg_type: MessageType, plan: int, price: str
) -> None:
    assert RULES.price(country=country, operator=operator, msg_type=msg_type, plan=plan) == Decimal(
        price
    )


def test_no_rule_no_price() -> None:
    table = TariffTable([TariffRule(price=Decimal(1), country="RU")])
    assert table.price(country="DE", operator=None, msg_type=MessageType.SMS) is None


def test_cost_is_parts_times_price_rounded_to_the_ledger() -> None:
    assert message_cost(Decimal("2.50"), 7) == Decimal("17.5000")
    assert message_cost(Decimal("0.33333"), 3) == Decimal("1.0000")

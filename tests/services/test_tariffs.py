"""Tariff rules in the store and the most-specific-wins lookup."""

from __future__ import annotations

from decimal import Decimal

from smsgate.domain.codes import MessageType
from smsgate.domain.pricing import TariffRule
from smsgate.services.container import Services


async def test_set_list_replace_delete(services: Services) -> None:
    await services.tariffs.set(TariffRule(price=Decimal("2.5")))
    await services.tariffs.set(TariffRule(price=Decimal("1.9"), country="RU"))
    await services.tariffs.set(TariffRule(price=Decimal("1.7"), country="RU", operator="MTS"))
    await services.tariffs.set(TariffRule(price=Decimal("1.8"), country="RU"))  # replaces 1.9
    table = await services.tariffs.table()
    assert len(table.rules) == 3
    assert table.price(country="RU", operator="MTS", msg_type=MessageType.SMS) == Decimal("1.7")
    assert table.price(country="RU", operator="Tele2", msg_type=MessageType.SMS) == Decimal("1.8")
    assert table.price(country="KZ", operator=None, msg_type=MessageType.SMS) == Decimal("2.5")
    assert await services.tariffs.delete(TariffRule(price=Decimal(0), country="RU"))
    assert not await services.tariffs.delete(TariffRule(price=Decimal(0), country="RU"))
    table = await services.tariffs.table()
    assert table.price(country="RU", operator="Tele2", msg_type=MessageType.SMS) == Decimal("2.5")

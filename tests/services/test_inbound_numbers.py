"""Renewal of rented numbers on the 1st of the month (http-api.md §12), driven by the manual clock,
and the admin's catalogue."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from smsgate.domain.inbound import next_month_start
from smsgate.services.container import Services
from smsgate.services.inbound_numbers import NumberAdminError, Renewals
from tests.support.accounts import PASSWORD, balance_of
from tests.support.clock import ManualClock

KEEP, LET_GO, POOR = "79990000001", "79990000002", "79990000003"


async def rented(services: Services) -> dict[str, str | None]:
    return {n.phone: n.login for n in await services.inbound_numbers.catalogue()}


async def test_renewal_charges_or_releases_once(services: Services, clock: ManualClock) -> None:
    numbers = services.inbound_numbers
    for phone, cost in ((KEEP, "300"), (LET_GO, "150"), (POOR, "300")):
        await numbers.add(phone, Decimal(cost), "RU")
    alice = await services.accounts.create("alice", PASSWORD, balance=Decimal("1000"))
    bob = await services.accounts.create("bob", PASSWORD, balance=Decimal("100"))
    await numbers.buy(alice, KEEP, noprolong=None)  # 70.00 (7 of 30 days)
    await numbers.buy(alice, LET_GO, noprolong=True)  # 35.00
    await numbers.buy(bob, POOR, noprolong=False)  # 70.00
    assert await balance_of(services, "alice") == Decimal("895.00")

    assert await numbers.renew_due() == Renewals()  # nothing is due in November
    december = next_month_start(clock.now())
    await clock.advance(december - clock.now() + 60)

    first, second = await asyncio.gather(numbers.renew_due(), numbers.renew_due())
    assert Renewals(first.renewed + second.renewed, first.released + second.released) == Renewals(
        renewed=1, released=2
    )
    assert await numbers.renew_due() == Renewals()
    assert await balance_of(services, "alice") == Decimal("595.00")  # one month of KEEP
    assert await balance_of(services, "bob") == Decimal("30.00")  # 300 does not fit: released
    assert await rented(services) == {KEEP: "alice", LET_GO: None, POOR: None}
    kept = [n for n in await numbers.catalogue() if n.phone == KEEP][0]
    assert kept.paid_till == next_month_start(clock.now())  # 01.01.2026

    # Nothing more until January; a job that missed months restarts the period from now.
    await clock.advance(40 * 86_400)
    assert await numbers.renew_due() == Renewals(renewed=1)
    assert await balance_of(services, "alice") == Decimal("295.00")


async def test_catalogue_admin(services: Services) -> None:
    numbers = services.inbound_numbers
    assert await numbers.add("+7 999 000-00-01", Decimal("10"), "RU") == KEEP
    with pytest.raises(NumberAdminError, match="already offered"):
        await numbers.add(KEEP, Decimal("10"))
    with pytest.raises(NumberAdminError, match="invalid phone"):
        await numbers.add("12ab", Decimal("10"))
    with pytest.raises(NumberAdminError, match="must not be negative"):
        await numbers.add(LET_GO, Decimal("-1"))
    alice = await services.accounts.create("alice", PASSWORD, balance=Decimal("100"))
    await numbers.buy(alice, KEEP, noprolong=None)
    with pytest.raises(NumberAdminError, match="is rented"):
        await numbers.remove(KEEP)
    assert (await numbers.remove(KEEP, force=True)).login is None
    assert await numbers.catalogue() == []
    with pytest.raises(NumberAdminError, match="no number"):
        await numbers.remove(KEEP)

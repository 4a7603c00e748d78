"""Refunds go to the account that paid (store/repos/accounts.py ``refund``)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import insert, select, update

from smsgate.domain.subclients import ShareType
from smsgate.services.container import Services
from smsgate.store.repos import accounts as repo
from smsgate.store.schema import account_policies, accounts


async def _balances(services: Services, *ids: int) -> list[Decimal]:
    async with services.db.read() as conn:
        rows = dict((await conn.execute(select(accounts.c.id, accounts.c.balance))).all())
    return [Decimal(rows[i]) for i in ids]


@pytest.mark.parametrize(
    ("share_type", "to_main"),
    [(ShareType.OWN, False), (ShareType.MAIN_BALANCE, True), (ShareType.ADDITIONAL_LOGIN, True)],
)
async def test_a_refund_returns_to_the_balance_that_was_debited(
    services: Services, share_type: ShareType, to_main: bool
) -> None:
    main = await services.accounts.create("main", "password-1", balance=Decimal("100"))
    child = await services.accounts.create("child", "password-1", balance=Decimal("10"))
    alone = await services.accounts.create("alone", "password-1", balance=Decimal("5"))
    async with services.db.transaction() as conn:
        await conn.execute(
            update(accounts).where(accounts.c.id == child.id).values(parent_id=main.id)
        )
        values = {"account_id": child.id, "share_type": int(share_type), "updated_at": 0.0}
        await conn.execute(insert(account_policies).values(**values))
    async with services.db.transaction() as conn:
        amounts = {child.id: Decimal("2.5"), alone.id: Decimal("1"), main.id: Decimal(0)}
        await repo.refund(conn, amounts, 0.0)
    expected = (
        [Decimal("102.5"), Decimal("10"), Decimal("6")]
        if to_main
        else [Decimal("100"), Decimal("12.5"), Decimal("6")]
    )
    assert await _balances(services, main.id, child.id, alone.id) == expected

"""users.php ``pay`` under concurrency: 50 transfers at once, in both directions, some of them
beyond the money available, never lose or create money (http-api.md §7)."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from smsgate.app import open_services
from smsgate.config import Settings
from smsgate.domain.subclient_settings import SubclientSettings
from smsgate.errors import RequestError
from smsgate.services.container import Services
from smsgate.services.subclients import ChildRef
from smsgate.store.schema import payments
from tests.conftest import make_settings
from tests.support.accounts import PASSWORD, balance_of, call, call_json
from tests.support.clock import ManualClock


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # 50 requests of one login at once: above the default limit of 15 in progress (error 9).
    return make_settings(database_url, tmp_path, SMSGATE_LIMITS_CONCURRENT="100")


async def test_fifty_concurrent_transfers_keep_the_total(
    services: Services, client: httpx.AsyncClient
) -> None:
    await services.accounts.create("parent", PASSWORD, balance=Decimal("100"))
    for kid in ("kid1", "kid2"):
        body = await call_json(client, "users", "parent", add="1", user=kid, password=PASSWORD)
        assert "id" in body
    # 40 transfers of 3.00 to the sub-clients (120 > 100: some must fail) and 10 of 2.50 back.
    amounts = [("kid1" if n % 2 else "kid2", "3") for n in range(40)]
    amounts += [("kid1" if n % 2 else "kid2", "-2.5") for n in range(10)]

    async def pay(kid: str, amount: str) -> tuple[str, Decimal, str]:
        response = await call(client, "users", "parent", pay="1", user=kid, sum=amount, fmt="3")
        return kid, Decimal(amount), response.text

    results = await asyncio.gather(*(pay(kid, amount) for kid, amount in amounts))
    moved = {"kid1": Decimal(0), "kid2": Decimal(0)}
    refused = 0
    for kid, amount, text in results:
        body = json.loads(text)
        if body == {"result": "OK"}:
            moved[kid] += amount
        else:
            assert body == {"error": "not enough money", "error_code": 3}
            refused += 1
    assert refused >= 1  # 120 asked of 100 (plus what came back)
    parent, kid1, kid2 = [await balance_of(services, login) for login in ("parent", "kid1", "kid2")]
    assert parent + kid1 + kid2 == Decimal(100)
    assert (kid1, kid2) == (moved["kid1"], moved["kid2"])
    assert min(parent, kid1, kid2) >= 0
    async with services.db.read() as conn:
        transfers = (await conn.execute(select(func.count()).select_from(payments))).scalar_one()
    assert transfers == len(amounts) - refused


async def test_two_nodes_transferring_at_once_keep_the_total(
    services: Services, settings: Settings, clock: ManualClock
) -> None:
    """Two gateway processes' worth of services on one database: their transactions interleave,
    so the row locks and the conditional debit, not one writer's ordering, keep the books."""
    parent = await services.accounts.create("parent", PASSWORD, balance=Decimal("50"))
    await services.subclients.add(parent, "kid", SubclientSettings(password=PASSWORD))
    kid = ChildRef(login="kid")
    async with open_services(settings, clock) as other:
        nodes = (services, other)

        async def pay(n: int) -> bool:
            amount = Decimal("4") if n % 3 else Decimal("-3")
            try:
                await nodes[n % 2].subclients.pay(parent, kid, amount)
            except RequestError as exc:
                assert int(exc.code) == 3
                return False
            return True

        done = await asyncio.gather(*(pay(n) for n in range(50)))
    assert not all(done)
    total = await balance_of(services, "parent") + await balance_of(services, "kid")
    assert total == Decimal(50)
    assert min(await balance_of(services, "parent"), await balance_of(services, "kid")) >= 0

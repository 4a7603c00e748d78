"""Fair share: a batch is divided among the accounts that have messages waiting."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.dispatch.claiming import FairClaim
from smsgate.domain.pricing import TariffRule
from smsgate.services.container import Services
from smsgate.store.repos import dispatch as repo
from smsgate.store.repos.dispatch import ClaimedMessage
from smsgate.store.schema import accounts
from tests.support.clock import ManualClock

PASSWORD = "password-1"


async def queue(client: httpx.AsyncClient, login: str, count: int, *, start: int = 0) -> None:
    """``count`` single-number requests (priority 0 each, as one-number-per-request integrations
    send them) in requests of up to 100 numbers for speed where priority does not matter."""
    for first in range(start, start + count, 100):
        phones = ",".join(f"7916{n:07d}" for n in range(first, min(first + 100, start + count)))
        data = {"login": login, "psw": PASSWORD, "phones": phones, "mes": "x", "fmt": "3"}
        body = (await client.post("/sys/send.php", data=data)).json()
        assert "error" not in body, body


async def account_ids(services: Services) -> dict[int, str]:
    async with services.db.read() as conn:
        rows = await conn.execute(select(accounts.c.id, accounts.c.login))
        return {int(i): str(login) for i, login in rows}


async def claim(services: Services, fair: FairClaim, clock: ManualClock) -> list[ClaimedMessage]:
    now = clock.now()

    async def op(conn: AsyncConnection) -> list[ClaimedMessage]:
        return await fair(conn, now, now + 60)

    return await services.writer.submit(op)


async def test_a_batch_is_shared_between_waiting_accounts(
    services: Services, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await services.tariffs.set(TariffRule(price=Decimal("0.01")))
    for login in ("big", "small"):
        await services.accounts.create(login, PASSWORD, balance=Decimal("1000"))
    await queue(client, "big", 1000)
    await clock.advance(1)
    await queue(client, "small", 30, start=5000)
    logins = await account_ids(services)
    fair = FairClaim(100)

    first = Counter(logins[m.account_id] for m in await claim(services, fair, clock))
    assert first == {"big": 70, "small": 30}  # small's quota is 50; big gets what is left
    second = Counter(logins[m.account_id] for m in await claim(services, fair, clock))
    assert second == {"big": 100}


async def test_many_accounts_are_served_in_rotation(
    services: Services, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await services.tariffs.set(TariffRule(price=Decimal("0.01")))
    for n in range(40):
        await services.accounts.create(f"acct{n}", PASSWORD, balance=Decimal("100"))
        await queue(client, f"acct{n}", 20, start=n * 100)
    fair = FairClaim(64, accounts_per_claim=8)
    served: list[set[int]] = []
    for _ in range(5):
        served.append({m.account_id for m in await claim(services, fair, clock)})
    assert all(len(s) == 8 for s in served)  # 8 accounts × a quota of 8 fill each batch
    assert len(set().union(*served)) == 40  # every account within five claims


async def test_the_account_scan_does_not_read_the_queue(
    services: Services, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await services.tariffs.set(TariffRule(price=Decimal("0.01")))
    for login in ("a", "b", "c"):
        await services.accounts.create(login, PASSWORD, balance=Decimal("100"))
        await queue(client, login, 3)
    ids = sorted((await account_ids(services)).keys())
    async with services.db.read() as conn:
        assert await repo.waiting_accounts(conn, 0, 10) == ids
        assert await repo.waiting_accounts(conn, ids[0], 10) == ids[1:]
        assert await repo.waiting_accounts(conn, 0, 2) == ids[:2]
        assert await repo.waiting_accounts(conn, ids[-1], 10) == []

"""Pausing, resuming and cancelling a mailing's waiting messages while the dispatcher runs."""

from __future__ import annotations

from decimal import Decimal

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.channels.simulator import SimulatorChannel
from smsgate.dispatch.worker import Dispatcher
from smsgate.domain.pricing import TariffRule
from smsgate.services.container import Services
from smsgate.store.repos import mailings
from smsgate.store.schema import events, messages
from tests.support.clock import ManualClock

PASSWORD = "password-1"
JOB = 7


async def queue_mailing(services: Services, client: httpx.AsyncClient, count: int) -> Decimal:
    """A mailing of ``count`` recipients (sent as one request, then tagged with the job); the
    balance after the debit."""
    await services.accounts.create("alice", PASSWORD, balance=Decimal("10000"))
    await services.tariffs.set(TariffRule(price=Decimal("1.5")))
    phones = ",".join(f"7916{n:07d}" for n in range(count))
    data = {"login": "alice", "psw": PASSWORD, "phones": phones, "mes": "sale", "fmt": "3"}
    assert "error" not in (await client.post("/sys/send.php", data=data)).json()

    async def tag(conn: AsyncConnection) -> None:
        await conn.execute(update(messages).values(job_id=JOB))

    await services.writer.submit(tag)
    return (await services.accounts.get("alice")).balance


async def by_status(services: Services) -> dict[int, int]:
    async with services.db.read() as conn:
        rows = await conn.execute(
            select(messages.c.status, func.count()).group_by(messages.c.status)
        )
        return {int(s): int(n) for s, n in rows}


async def test_a_paused_mailing_stops_and_resumes_without_duplicates(
    services: Services, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await queue_mailing(services, client, 1000)
    simulator = SimulatorChannel(clock)
    dispatcher = Dispatcher(services.writer, [simulator], clock, batch_size=100, seed=1)
    await dispatcher.step()
    assert len(simulator.submitted) == 100

    async def pause(conn: AsyncConnection) -> list[int]:
        return await mailings.stop_waiting(conn, JOB, clock.now())

    assert len(await services.writer.submit(pause)) == 900
    await dispatcher.run_until_idle()
    assert len(simulator.submitted) == 100
    assert (await by_status(services))[-2] == 900

    async def resume(conn: AsyncConnection) -> list[int]:
        return await mailings.resume_stopped(conn, JOB, clock.now())

    assert len(await services.writer.submit(resume)) == 900
    await dispatcher.run_until_idle()
    assert sorted(simulator.submitted) == sorted(set(simulator.submitted))
    assert len(simulator.submitted) == 1000
    async with services.db.read() as conn:
        stopped_events = await conn.scalar(
            select(func.count()).select_from(events).where(events.c.status == -2)
        )
    assert stopped_events == 900


async def test_a_cancelled_mailing_is_refunded(
    services: Services, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    balance = await queue_mailing(services, client, 300)
    simulator = SimulatorChannel(clock)
    dispatcher = Dispatcher(services.writer, [simulator], clock, batch_size=100, seed=1)
    await dispatcher.step()

    async def cancel(conn: AsyncConnection) -> Decimal:
        await mailings.stop_waiting(conn, JOB, clock.now())
        return await mailings.refund_stopped(conn, JOB, clock.now())

    assert await services.writer.submit(cancel) == Decimal("300")  # 200 × 1.5
    assert (await services.accounts.get("alice")).balance == balance + Decimal("300")
    assert await services.writer.submit(cancel) == Decimal(0)  # never refunded twice
    await dispatcher.run_until_idle()
    assert len(simulator.submitted) == 100

"""Drive a Dispatcher with an upstream SMPP connector and the SMSC simulator over real sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select

from smsgate.channels.base import Receipt
from smsgate.channels.smpp.connector import SmppConnector
from smsgate.dispatch.connectors import Connectors
from smsgate.dispatch.upstream import connector_limits
from smsgate.dispatch.worker import Dispatcher
from smsgate.domain.pricing import TariffRule
from smsgate.services.container import Services
from smsgate.simulators.behaviour import Behaviour
from smsgate.simulators.smsc import SmscSimulator
from smsgate.store.schema import events, messages
from tests.channels.smpp.support import bound_connector, connector_settings
from tests.support.clock import ManualClock

PASSWORD = "password-1"
# Real time given to sockets and the database before virtual time moves on (a deadline, not a pause).
QUIET_S = 0.05


@dataclass(slots=True)
class Upstream:
    smsc: SmscSimulator
    connector: SmppConnector
    dispatcher: Dispatcher


async def add_alice(services: Services) -> None:
    await services.accounts.create("alice", PASSWORD, balance=Decimal("10000"))
    await services.tariffs.set(TariffRule(price=Decimal("1")))


async def send(client: httpx.AsyncClient, phones: str, mes: str = "hello") -> None:
    data = {"login": "alice", "psw": PASSWORD, "fmt": "3", "mes": mes, "phones": phones}
    body = (await client.post("/sys/send.php", data=data)).json()
    assert "error" not in body, body


@asynccontextmanager
async def upstream(
    services: Services, clock: ManualClock, behaviour: Behaviour, **changes: Any
) -> AsyncIterator[Upstream]:
    holder: list[Dispatcher] = []

    async def sink(name: str, receipts: list[Receipt]) -> None:
        await holder[0].store_receipts(name, receipts)

    async with SmscSimulator(clock, behaviour) as smsc:
        settings = connector_settings(smsc.port, **changes)
        async with bound_connector(settings, clock, sink) as connector:
            connectors = Connectors(
                [connector], clock, {connector.name: connector_limits(settings)}
            )
            dispatcher = Dispatcher(services.writer, connectors, clock, seed=1)
            holder.append(dispatcher)
            yield Upstream(smsc, connector, dispatcher)


async def run_with_time(clock: ManualClock, work: Awaitable[None]) -> None:
    """Await ``work``; whenever it is stuck waiting for virtual time, move the clock to the next
    sleeper's deadline (timeouts, backoffs, latencies) — never while real I/O is still answering."""
    task = asyncio.ensure_future(work)
    while not task.done():
        done, _ = await asyncio.wait({task}, timeout=QUIET_S)
        if not done:
            deadline = clock.next_deadline()
            step = 1.0 if deadline is None else max(deadline - clock.monotonic(), 0.0)
            await clock.advance(step)
    task.result()


async def eventually(
    clock: ManualClock, check: Callable[[], Awaitable[bool]], *, step_s: float = 0.05
) -> None:
    """Until ``check()`` holds: real I/O gets ``QUIET_S`` (a deadline) between checks, then virtual
    time moves on by ``step_s`` (for loops that poll on the clock, like the gateway's dispatcher)."""
    for _ in range(400):
        if await check():
            return
        never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await asyncio.wait({never}, timeout=QUIET_S)
        never.cancel()
        await clock.advance(step_s)
    raise AssertionError("condition not reached")


async def deliver_everything(
    services: Services, up: Upstream, clock: ManualClock, *, limit_s: float = 4 * 3600
) -> None:
    """Dispatch, wait for receipts, let retry backoffs pass, until no message waits any more."""
    started = clock.monotonic()
    while clock.monotonic() - started < limit_s:
        await run_with_time(clock, up.dispatcher.run_until_idle())
        await run_with_time(clock, up.smsc.wait_idle())
        if not await unfinished(services):
            return
        await clock.advance(5.0)
    raise AssertionError(f"{await unfinished(services)} messages still unfinished")


async def unfinished(services: Services) -> int:
    async with services.db.read() as conn:
        rows = await conn.execute(select(messages.c.id).where(messages.c.status.in_((-1, 0))))
        return len(rows.all())


async def outcomes(services: Services) -> dict[str, tuple[int, int]]:
    """Phone → (status, err)."""
    async with services.db.read() as conn:
        rows = await conn.execute(select(messages.c.phone, messages.c.status, messages.c.err))
        return {phone: (int(s), int(e)) for phone, s, e in rows}


async def transfers(services: Services) -> dict[int, int]:
    """Message id → how many times it was recorded as transferred (status 0 events)."""
    async with services.db.read() as conn:
        rows = await conn.execute(select(events.c.message_id).where(events.c.status == 0))
        counted: dict[int, int] = {}
        for (message_id,) in rows:
            counted[int(message_id)] = counted.get(int(message_id), 0) + 1
        return counted

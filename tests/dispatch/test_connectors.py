"""Routing across several connectors: failover, pacing (rate and window), lease fencing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.channels.base import (
    Accepted,
    OutgoingMessage,
    Receipt,
    RouteFailure,
    SubmitOutcome,
    TransientFailure,
)
from smsgate.dispatch.connectors import ConnectorLimits, Connectors
from smsgate.dispatch.worker import Dispatcher
from smsgate.domain.pricing import TariffRule
from smsgate.domain.routing import Route, RouteTable
from smsgate.services.container import Services
from smsgate.store.repos import dispatch as repo
from smsgate.store.schema import messages
from tests.support.clock import ManualClock

PASSWORD = "password-1"


class Operator:
    """A connector whose answers the test decides; it records every hand-over with its time."""

    def __init__(
        self,
        name: str,
        clock: ManualClock,
        answer: Callable[[OutgoingMessage], SubmitOutcome] | None = None,
    ) -> None:
        self.name = name
        self.clock = clock
        self.up = True
        self.answer = answer or (lambda m: Accepted(f"{name}-{m.id}"))
        self.submitted: list[int] = []
        self.batches: list[int] = []
        self.times: list[float] = []

    @property
    def available(self) -> bool:
        return self.up

    async def submit(self, batch: Sequence[OutgoingMessage]) -> Sequence[SubmitOutcome]:
        self.batches.append(len(batch))
        for message in batch:
            self.submitted.append(message.id)
            self.times.append(self.clock.monotonic())
        return [self.answer(m) for m in batch]

    def due_receipts(self, now: float) -> list[Receipt]:
        return []


@pytest.fixture
async def alice(services: Services) -> str:
    await services.accounts.create("alice", PASSWORD, balance=Decimal("10000"))
    await services.tariffs.set(TariffRule(price=Decimal("1")))
    return "alice"


async def send(client: httpx.AsyncClient, phones: str, **params: str) -> dict[str, object]:
    data = {"login": "alice", "psw": PASSWORD, "fmt": "3", "mes": "hi", "phones": phones, **params}
    body = (await client.post("/sys/send.php", data=data)).json()
    assert "error" not in body, body
    return dict(body)


async def statuses(services: Services) -> list[tuple[int, int, str | None]]:
    async with services.db.read() as conn:
        rows = await conn.execute(
            select(messages.c.status, messages.c.err, messages.c.connector).order_by(messages.c.id)
        )
        return [(int(s), int(e), c) for s, e, c in rows]


async def test_a_connector_that_is_down_fails_over_to_the_next(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: str
) -> None:
    primary, backup = Operator("primary", clock), Operator("backup", clock)
    primary.up = False
    dispatcher = Dispatcher(services.writer, [primary, backup], clock, seed=1)
    await send(client, "79161234567,79161234568")
    await dispatcher.run_until_idle()
    assert primary.submitted == [] and len(backup.submitted) == 2
    assert await statuses(services) == [(0, 0, "backup"), (0, 0, "backup")]

    primary.up = True  # back: the first route carries again
    await send(client, "79161234569", mes="again")
    await dispatcher.run_until_idle()
    assert len(primary.submitted) == 1


async def test_a_routing_rejection_fails_over_within_the_same_batch(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: str
) -> None:
    primary = Operator("primary", clock, lambda m: RouteFailure("no route to destination"))
    backup = Operator("backup", clock)
    dispatcher = Dispatcher(services.writer, [primary, backup], clock, seed=1)
    await send(client, "79161234567")
    await dispatcher.step()
    assert len(primary.submitted) == 1 and len(backup.submitted) == 1
    assert await statuses(services) == [(0, 0, "backup")]


async def test_every_connector_refusing_is_25_248_and_refunded(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: str
) -> None:
    refuse = lambda m: RouteFailure("unroutable")  # noqa: E731
    first, second = Operator("first", clock, refuse), Operator("second", clock, refuse)
    dispatcher = Dispatcher(services.writer, [first, second], clock, seed=1)
    before = (await services.accounts.get("alice")).balance
    await send(client, "79161234567")
    await dispatcher.run_until_idle()
    assert await statuses(services) == [(25, 248, None)]
    assert (await services.accounts.get("alice")).balance == before


async def test_all_connectors_down_keeps_messages_queued(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: str
) -> None:
    only = Operator("only", clock)
    only.up = False
    dispatcher = Dispatcher(services.writer, [only], clock, seed=1)
    await send(client, "79161234567")
    await dispatcher.run_until_idle()
    assert await statuses(services) == [(-1, 0, None)]
    only.up = True
    await clock.advance(10)  # the first retry is due within 10 s
    await dispatcher.run_until_idle()
    assert await statuses(services) == [(0, 0, "only")]


async def test_a_route_to_an_unconfigured_connector_is_unroutable(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: str
) -> None:
    known = Operator("known", clock)
    table = RouteTable([Route(position=1, connector="elsewhere")], default="known")

    async def routes() -> RouteTable:
        return table

    dispatcher = Dispatcher(services.writer, [known], clock, routes=routes, seed=1)
    await send(client, "79161234567")
    await dispatcher.run_until_idle()
    assert await statuses(services) == [(25, 248, None)]


async def test_routes_choose_the_connector_in_failover_order(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: str
) -> None:
    mts, reserve = Operator("mts", clock), Operator("reserve", clock)
    table = RouteTable(
        [
            Route(position=1, connector="mts", prefix="7916"),
            Route(position=2, connector="reserve"),
        ],
        default="reserve",
    )

    async def routes() -> RouteTable:
        return table

    dispatcher = Dispatcher(services.writer, [mts, reserve], clock, routes=routes, seed=1)
    await send(client, "79161234567,79261234567")
    await dispatcher.run_until_idle()
    assert await statuses(services) == [(0, 0, "mts"), (0, 0, "reserve")]


async def test_the_rate_limit_spreads_a_batch_over_time(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: str
) -> None:
    """50 messages through a 10-per-second connector: none of them early, never more than 11 in
    any second, and none handed over twice."""
    slow = Operator("slow", clock)
    connectors = Connectors([slow], clock, {"slow": ConnectorLimits(tps=10)})
    dispatcher = Dispatcher(services.writer, connectors, clock, seed=1)
    await send(client, ",".join(f"7916{n:07d}" for n in range(50)))
    start = clock.monotonic()
    while len(slow.submitted) < 50:
        await dispatcher.run_until_idle()
        await clock.advance(0.05)
    assert sorted(slow.submitted) == sorted(set(slow.submitted))
    assert clock.monotonic() - start >= 4.8
    for t in slow.times:
        assert sum(1 for u in slow.times if t <= u < t + 1) <= 11
    assert all(s == 0 for s, _e, _c in await statuses(services))
    async with services.db.read() as conn:
        attempts = (await conn.execute(select(messages.c.attempts))).scalars().all()
    assert set(attempts) == {1}  # waiting for the rate is not an attempt


async def test_the_window_caps_one_hand_over(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: str
) -> None:
    narrow = Operator("narrow", clock)
    connectors = Connectors([narrow], clock, {"narrow": ConnectorLimits(window=7)})
    dispatcher = Dispatcher(services.writer, connectors, clock, seed=1)
    await send(client, ",".join(f"7916{n:07d}" for n in range(30)))
    await dispatcher.run_until_idle()
    assert max(narrow.batches) == 7 and len(narrow.submitted) == 30


async def test_transient_failures_stay_with_the_connector(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: str
) -> None:
    busy = Operator("busy", clock, lambda m: TransientFailure("queue full"))
    other = Operator("other", clock)
    dispatcher = Dispatcher(services.writer, [busy, other], clock, seed=1)
    await send(client, "79161234567")
    await dispatcher.run_until_idle()
    assert other.submitted == [] and await statuses(services) == [(-1, 0, None)]


async def test_a_channel_that_raises_leaves_its_messages_in_doubt(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: str
) -> None:
    def explode(message: OutgoingMessage) -> SubmitOutcome:
        raise ConnectionResetError("peer went away mid-batch")

    broken, healthy = Operator("broken", clock, explode), Operator("healthy", clock)
    table = RouteTable(
        [
            Route(position=1, connector="broken", prefix="7916"),
            Route(position=2, connector="healthy", prefix="7926"),
        ],
        default="healthy",
    )

    async def routes() -> RouteTable:
        return table

    dispatcher = Dispatcher(services.writer, [broken, healthy], clock, routes=routes, seed=1)
    await send(client, "79161234567,79261234567")
    await dispatcher.step()
    # The healthy connector's message is recorded; the other may have reached its operator.
    assert await statuses(services) == [(-1, 0, "broken"), (0, 0, "healthy")]


async def test_a_stale_lease_cannot_mark_a_message(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: str
) -> None:
    await send(client, "79161234567")
    now = clock.now()

    async def claim_twice(conn: AsyncConnection) -> tuple[set[int], set[int]]:
        first = await repo.claim(conn, now, 10, now + 60)
        # The first dispatcher stalls past its lease and a second one claims the message.
        await conn.execute(update(messages).values(lease_until=now - 1))
        second = await repo.claim(conn, now, 10, now + 61)
        ids = [m.id for m in first]
        stale = await repo.mark_handing_over(conn, ids, "a", now, now + 60)
        current = await repo.mark_handing_over(conn, [m.id for m in second], "b", now, now + 61)
        return stale, current

    stale, current = await services.writer.submit(claim_twice)
    assert stale == set() and len(current) == 1

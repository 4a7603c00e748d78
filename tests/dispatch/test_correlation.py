"""Receipts that overtake the record of their hand-over (a real race with fast SMSCs), part ids, and
the 72 h retention of parked receipts; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.channels.base import (
    Accepted,
    DeliveryState,
    OutgoingMessage,
    Receipt,
    SubmitOutcome,
)
from smsgate.dispatch.worker import Dispatcher
from smsgate.services.container import Services
from smsgate.store.repos import dispatch as repo
from smsgate.store.schema import early_receipts, message_parts, messages
from tests.conftest import table_count
from tests.dispatch.upstream_support import add_alice, outcomes, send
from tests.support.clock import ManualClock

PHONE = "79161234567"


class FastOperator:
    """An operator whose receipts arrive before its answer to the submit (and are stored, as the
    SMPP connector stores them, before that answer is read)."""

    name = "fast"
    available = True

    def __init__(self, parts: int = 1, *, early: bool = True) -> None:
        self.dispatcher: Dispatcher | None = None
        self.parts = parts
        self.early = early
        self.parked_during_submit: list[int] = []
        self.services: Services | None = None

    async def submit(self, batch: Sequence[OutgoingMessage]) -> Sequence[SubmitOutcome]:
        assert self.dispatcher is not None and self.services is not None
        outcomes: list[SubmitOutcome] = []
        for message in batch:
            ids = [f"P{message.id}-{n}" for n in range(self.parts)]
            if self.early:
                receipts = [Receipt(i, DeliveryState.DELIVERED) for i in ids]
                await self.dispatcher.store_receipts(self.name, receipts)
                self.parked_during_submit.append(await table_count(self.services, "early_receipts"))
            outcomes.append(Accepted(ids[0], part_ids=tuple(ids[1:]), receipts=len(ids)))
        return outcomes

    def due_receipts(self, now: float) -> list[Receipt]:
        return []


def dispatcher_for(services: Services, operator: FastOperator, clock: ManualClock) -> Dispatcher:
    dispatcher = Dispatcher(services.writer, [operator], clock, seed=1)
    operator.dispatcher = dispatcher
    operator.services = services
    return dispatcher


async def test_receipt_before_the_hand_over_is_parked_then_applied_with_it(
    services: Services, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await add_alice(services)
    await send(client, PHONE)
    operator = FastOperator()
    await dispatcher_for(services, operator, clock).step()
    assert operator.parked_during_submit == [1]  # the race happened: the receipt was early
    assert await outcomes(services) == {PHONE: (1, 0)}  # and applied in the hand-over's record
    assert await table_count(services, "early_receipts") == 0


async def test_early_receipts_of_every_part_complete_a_long_message(
    services: Services, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await add_alice(services)
    await send(client, PHONE, mes="q" * 400)
    operator = FastOperator(parts=3)
    await dispatcher_for(services, operator, clock).step()
    assert operator.parked_during_submit == [3]
    assert await outcomes(services) == {PHONE: (1, 0)}
    async with services.db.read() as conn:
        parts = (await conn.execute(select(message_parts.c.provider_id))).scalars().all()
    assert sorted(parts) == ["P1-1", "P1-2"]


async def test_receipts_of_later_parts_find_the_message(
    services: Services, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await add_alice(services)
    await send(client, PHONE, mes="q" * 400)
    dispatcher = dispatcher_for(services, FastOperator(parts=3, early=False), clock)
    await dispatcher.step()
    await dispatcher.store_receipts("fast", [Receipt("P1-2", DeliveryState.DELIVERED)])
    await dispatcher.store_receipts("fast", [Receipt("P1-0", DeliveryState.UNDELIVERABLE, 6)])
    assert await outcomes(services) == {PHONE: (0, 0)}
    await dispatcher.store_receipts("fast", [Receipt("P1-1", DeliveryState.DELIVERED)])
    assert await outcomes(services) == {PHONE: (20, 6)}
    assert await table_count(services, "early_receipts") == 0


async def test_payload_message_counts_its_single_receipt_for_every_part(
    services: Services, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await add_alice(services)
    await send(client, PHONE, mes="q" * 400)  # billed as 3 parts, sent as one message_payload
    dispatcher = dispatcher_for(services, FastOperator(parts=1, early=False), clock)
    await dispatcher.step()
    await dispatcher.store_receipts("fast", [Receipt("P1-0", DeliveryState.DELIVERED)])
    assert await outcomes(services) == {PHONE: (1, 0)}


async def test_a_parked_receipt_recorded_elsewhere_is_applied_by_the_sweep(
    services: Services, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    """The hand-over was recorded by another node (its own transaction): the next sweep applies it."""
    await add_alice(services)
    await send(client, PHONE)
    dispatcher = dispatcher_for(services, FastOperator(early=False), clock)
    await dispatcher.store_receipts("fast", [Receipt("remote-1", DeliveryState.DELIVERED)])
    assert await table_count(services, "early_receipts") == 1

    async def other_node(conn: AsyncConnection) -> None:
        claimed = await repo.claim(conn, clock.now(), 10, clock.now() + 60)
        await repo.record_submitted(conn, [(claimed[0], "remote-1")], "fast", clock.now())

    await services.writer.submit(other_node)
    await clock.advance(31)
    await dispatcher.run_until_idle()
    assert await outcomes(services) == {PHONE: (1, 0)}
    assert await table_count(services, "early_receipts") == 0


async def test_unknown_receipts_are_dropped_after_72_hours(
    services: Services, clock: ManualClock
) -> None:
    dispatcher = Dispatcher(services.writer, [], clock, seed=1)
    await dispatcher.store_receipts("fast", [Receipt("never-sent", DeliveryState.DELIVERED)])
    await dispatcher.run_until_idle()
    await clock.advance(71 * 3600)
    await dispatcher.run_until_idle()
    assert await table_count(services, "early_receipts") == 1
    await clock.advance(2 * 3600)
    await dispatcher.run_until_idle()
    assert await table_count(services, "early_receipts") == 0


async def test_a_repeated_receipt_of_a_final_message_is_not_parked(
    services: Services, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await add_alice(services)
    await send(client, PHONE)
    dispatcher = dispatcher_for(services, FastOperator(early=False), clock)
    await dispatcher.step()
    receipt = Receipt("P1-0", DeliveryState.DELIVERED)
    await dispatcher.store_receipts("fast", [receipt])
    await dispatcher.store_receipts("fast", [receipt])
    assert await table_count(services, "early_receipts") == 0
    async with services.db.read() as conn:
        status = (await conn.execute(select(messages.c.status))).scalar_one()
        rows = (await conn.execute(select(early_receipts))).all()
    assert status == 1 and rows == []

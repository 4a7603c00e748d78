"""Incoming SMS from operators (services/incoming.py IncomingReceiver): who receives them, parts
kept in the store until complete, and which accounts get the callback (fl[11] for sub-clients)."""

from __future__ import annotations

from decimal import Decimal

import httpx
from sqlalchemy import Table, func, select

from smsgate.domain.inbound import IncomingPart
from smsgate.services.accounts import AccountChanges
from smsgate.services.container import Services
from smsgate.services.incoming import Arrival
from smsgate.store.schema import callback_deliveries, incoming, incoming_parts
from tests.support.accounts import PASSWORD, call_json
from tests.support.clock import ManualClock

HOOK = "https://hooks.example/in"
SUBSCRIBER = "79161234567"


async def count(services: Services, table: Table, **where: int) -> int:
    async with services.db.read() as conn:
        query = select(func.count()).select_from(table)
        for name, value in where.items():
            query = query.where(table.c[name] == value)
        return int((await conn.execute(query)).scalar_one())


async def rent(services: Services, login: str, phone: str) -> None:
    await services.inbound_numbers.add(phone, Decimal("0"))
    await services.inbound_numbers.buy(await services.accounts.get(login), phone, noprolong=None)


async def test_callbacks_follow_the_url_and_fl11(
    services: Services, client: httpx.AsyncClient
) -> None:
    await services.accounts.create("alice", PASSWORD, balance=Decimal("100"))
    await services.accounts.change("alice", AccountChanges(callback_url=HOOK))
    for login, flag in (("kid", "0"), ("kid2", "1")):
        created = await call_json(
            client,
            "users",
            "alice",
            add="1",
            user=login,
            password="kid-password-1",
            url=HOOK,
            **{"fl[11]": flag},
        )
        assert "id" in created, created
    for index, login in enumerate(("alice", "kid", "kid2")):
        await rent(services, login, f"7999000000{index + 1}")
    receiver = services.incoming_receiver
    ids = []
    for index in range(3):
        got = await receiver.receive("op", IncomingPart(SUBSCRIBER, f"7999000000{index + 1}", "hi"))
        assert got.arrival is Arrival.STORED
        ids.append(got.account_id)
    assert await count(services, incoming) == 3
    per_account = [await count(services, callback_deliveries, account_id=i or 0) for i in ids]
    assert per_account == [1, 0, 1]


async def test_parts_wait_in_the_store_and_expire(services: Services, clock: ManualClock) -> None:
    await services.accounts.create("alice", PASSWORD, balance=Decimal("100"))
    await rent(services, "alice", "79990000001")
    receiver = services.incoming_receiver

    def part(seq: int, text: str, reference: int = 7) -> IncomingPart:
        return IncomingPart(SUBSCRIBER, "+79990000001", text, reference, 3, seq)

    assert (await receiver.receive("op", part(2, "b"))).arrival is Arrival.PART_STORED
    assert (await receiver.receive("op", part(2, "b"))).arrival is Arrival.PART_STORED  # again
    assert (await receiver.receive("op", part(1, "a"))).arrival is Arrival.PART_STORED
    done = await receiver.receive("op", part(3, "c"))
    assert done.arrival is Arrival.STORED
    answers = await services.incoming.answers(done.account_id or 0)
    assert [(a.phone, a.to_phone, a.text) for a in answers] == [(SUBSCRIBER, "79990000001", "abc")]
    assert await count(services, incoming_parts) == 0

    await receiver.receive("op", part(1, "x", reference=8))
    await clock.advance(301)
    assert await receiver.expire_parts() == 1
    assert await count(services, incoming_parts) == 0


async def test_unknown_destination_is_dropped(services: Services) -> None:
    got = await services.incoming_receiver.receive(
        "op", IncomingPart(SUBSCRIBER, "79990000009", "?")
    )
    assert got.arrival is Arrival.NO_RECIPIENT
    assert await count(services, incoming) == 0

"""The dispatcher with the built-in simulator: stored → transferred → final, with events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from smsgate.channels.base import (
    Accepted,
    OutgoingMessage,
    Receipt,
    SubmitOutcome,
    TransientFailure,
)
from smsgate.channels.simulator import SimulatorChannel, SimulatorSettings
from smsgate.channels.simulator_log import HandoverLog
from smsgate.dispatch.worker import Dispatcher
from smsgate.domain.pricing import TariffRule
from smsgate.domain.routing import Route
from smsgate.services.container import Services
from smsgate.store.repos import dispatch as repo
from smsgate.store.repos import messages as message_repo
from smsgate.store.repos.messages import MessageRecord, NewMessage
from smsgate.store.schema import events, messages
from tests.support.clock import ManualClock

PASSWORD = "password-1"


@pytest.fixture
async def alice(services: Services) -> str:
    await services.accounts.create("alice", PASSWORD, balance=Decimal("10000"))
    await services.tariffs.set(TariffRule(price=Decimal("1")))
    return "alice"


@pytest.fixture
def simulator(clock: ManualClock) -> SimulatorChannel:
    return SimulatorChannel(clock, SimulatorSettings(latency_s=2.0, test_delay_s=1.0))


@pytest.fixture
def dispatcher(services: Services, simulator: SimulatorChannel, clock: ManualClock) -> Dispatcher:
    return Dispatcher(services.writer, [simulator], clock, seed=1)


async def send(client: httpx.AsyncClient, **params: str) -> dict[str, object]:
    data = {"login": "alice", "psw": PASSWORD, "fmt": "3", "mes": "hello", **params}
    body = (await client.post("/sys/send.php", data=data)).json()
    assert "error" not in body, body
    return dict(body)


async def status(client: httpx.AsyncClient, message_id: object, phone: str) -> tuple[int, int]:
    params = {"login": "alice", "psw": PASSWORD, "fmt": "3", "id": str(message_id), "phone": phone}
    body = (await client.get("/sys/status.php", params=params)).json()
    return int(body["status"]), int(body["err"])


async def history(services: Services) -> list[tuple[int, int]]:
    async with services.db.read() as conn:
        rows = await conn.execute(select(events.c.status, events.c.err).order_by(events.c.id))
        return [(int(s), int(e)) for s, e in rows]


async def test_delivered_through_the_simulator(
    services: Services,
    client: httpx.AsyncClient,
    dispatcher: Dispatcher,
    clock: ManualClock,
    alice: str,
) -> None:
    sent = await send(client, phones="79161234567")
    await dispatcher.run_until_idle()
    assert await status(client, sent["id"], "79161234567") == (0, 0)
    await clock.advance(2)
    await dispatcher.run_until_idle()
    assert await status(client, sent["id"], "79161234567") == (1, 0)
    assert await history(services) == [(0, 0), (1, 0)]


@pytest.mark.parametrize(
    ("phone", "final"),
    [("79161234560", (20, 1)), ("79161234568", (20, 6)), ("79161234569", (0, 0))],
)
async def test_failed_and_silent_numbers(
    client: httpx.AsyncClient,
    dispatcher: Dispatcher,
    clock: ManualClock,
    alice: str,
    phone: str,
    final: tuple[int, int],
) -> None:
    sent = await send(client, phones=phone)
    await dispatcher.run_until_idle()
    await clock.advance(2)
    await dispatcher.run_until_idle()
    assert await status(client, sent["id"], phone) == final


async def test_multipart_is_final_only_with_every_receipt(
    services: Services,
    client: httpx.AsyncClient,
    dispatcher: Dispatcher,
    clock: ManualClock,
    alice: str,
) -> None:
    sent = await send(client, phones="79161234567", mes="x" * 400)  # 3 parts
    assert sent["cnt"] == 3
    await dispatcher.run_until_idle()
    await clock.advance(2)
    await dispatcher.run_until_idle()
    assert await status(client, sent["id"], "79161234567") == (1, 0)
    assert await history(services) == [(0, 0), (1, 0)]


async def test_test_mode_ends_delivered_with_err_200(
    client: httpx.AsyncClient, dispatcher: Dispatcher, clock: ManualClock, alice: str
) -> None:
    sent = await send(client, phones="79161234567", test="1")
    await dispatcher.run_until_idle()
    await clock.advance(1)
    await dispatcher.run_until_idle()
    assert await status(client, sent["id"], "79161234567") == (1, 200)


async def test_scheduled_messages_wait_for_their_time(
    client: httpx.AsyncClient,
    dispatcher: Dispatcher,
    simulator: SimulatorChannel,
    clock: ManualClock,
    alice: str,
) -> None:
    sent = await send(client, phones="79161234567", time="+60")
    await dispatcher.run_until_idle()
    assert simulator.submitted == []
    await clock.advance(60 * 60)
    await dispatcher.run_until_idle()
    assert len(simulator.submitted) == 1
    assert await status(client, sent["id"], "79161234567") == (0, 0)


async def test_an_expired_lease_is_claimed_again(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: str
) -> None:
    await send(client, phones="79161234567")

    async def claim(conn: AsyncConnection) -> list[repo.ClaimedMessage]:
        return await repo.claim(conn, clock.now(), 10, clock.now() + 60)

    first = await services.writer.submit(claim)
    assert len(first) == 1
    assert await services.writer.submit(claim) == []  # leased: nobody else takes it
    await clock.advance(61)  # its dispatcher died: the lease runs out
    again = await services.writer.submit(claim)
    assert [m.id for m in again] == [first[0].id] and again[0].attempts == 2


async def test_validity_over_before_hand_over_is_expired(
    services: Services,
    client: httpx.AsyncClient,
    dispatcher: Dispatcher,
    simulator: SimulatorChannel,
    clock: ManualClock,
    alice: str,
) -> None:
    sent = await send(client, phones="79161234567", valid="1")
    await clock.advance(2 * 3600)
    await dispatcher.run_until_idle()
    assert simulator.submitted == []
    assert await status(client, sent["id"], "79161234567") == (3, 0)
    async with services.db.read() as conn:
        lease = (await conn.execute(select(messages.c.lease_until))).scalar_one()
    assert lease is None


async def test_a_single_send_overtakes_a_queued_campaign(
    services: Services,
    client: httpx.AsyncClient,
    simulator: SimulatorChannel,
    clock: ManualClock,
    alice: str,
) -> None:
    """Account A's 100,000-message campaign is queued first; B's single code reaches the channel
    with the very next batch."""
    await services.accounts.create("bob", PASSWORD, balance=Decimal("10"))
    campaign = ",".join(f"7916{n:07d}" for n in range(1, 1001))
    await send(client, phones=campaign, mes="campaign")
    await _copy_campaign(services, times=99)  # 100,000 waiting messages of alice
    await clock.advance(1)
    data = {
        "login": "bob",
        "psw": PASSWORD,
        "phones": "79261234567",
        "mes": "code 1234",
        "fmt": "3",
    }
    single = (await client.post("/sys/send.php", data=data)).json()
    dispatcher = Dispatcher(services.writer, [simulator], clock, batch_size=100, seed=1)
    await dispatcher.step()
    async with services.db.read() as conn:
        bob_id = (
            await conn.execute(select(messages.c.id).where(messages.c.phone == "79261234567"))
        ).scalar_one()
    assert single["cnt"] == 1
    assert bob_id in simulator.submitted[:100]


async def test_no_receipt_an_hour_after_validity_is_expired_245(
    client: httpx.AsyncClient, dispatcher: Dispatcher, clock: ManualClock, alice: str
) -> None:
    sent = await send(client, phones="79161234569", valid="2")  # a silent number
    await dispatcher.run_until_idle()
    await clock.advance(2 * 3600 + 3600 - 60)
    await dispatcher.run_until_idle()
    assert await status(client, sent["id"], "79161234569") == (0, 0)
    await clock.advance(120)
    await dispatcher.run_until_idle()
    assert await status(client, sent["id"], "79161234569") == (3, 245)


class _ThrottledOperator:
    """An operator that is throttled (ESME_RTHROTTLED) for its first ``refusals`` submits."""

    name = "throttled"

    available = True

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.submits = 0

    async def submit(self, batch: Sequence[OutgoingMessage]) -> Sequence[SubmitOutcome]:
        self.submits += 1
        if self.submits <= self.refusals:
            return [TransientFailure("throttled") for _ in batch]
        return [Accepted(f"op-{m.id}") for m in batch]

    def due_receipts(self, now: float) -> list[Receipt]:
        return []


async def _copy_campaign(services: Services, times: int) -> None:
    """Queue ``times`` more copies of the stored campaign (faster than sending it again)."""
    async with services.db.read() as conn:
        rows = [
            MessageRecord.from_row(row) for row in (await conn.execute(select(messages))).mappings()
        ]
    copies = [NewMessage(**{f.name: getattr(r, f.name) for f in fields(NewMessage)}) for r in rows]

    async def op(conn: AsyncConnection) -> None:
        for _ in range(times):
            await message_repo.insert_many(conn, copies)

    await services.writer.submit(op)


async def test_transient_failures_are_retried_with_backoff_until_validity_ends(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: str
) -> None:
    operator = _ThrottledOperator(refusals=2)
    dispatcher = Dispatcher(services.writer, [operator], clock, seed=7)
    sent = await send(client, phones="79161234567")
    await dispatcher.run_until_idle()
    assert operator.submits == 1 and await status(client, sent["id"], "79161234567") == (-1, 0)
    await clock.advance(10)  # first retry within 5–10 s
    await dispatcher.run_until_idle()
    assert operator.submits == 2
    await clock.advance(20)  # second retry within 10–20 s
    await dispatcher.run_until_idle()
    assert operator.submits == 3
    assert await status(client, sent["id"], "79161234567") == (0, 0)

    always = _ThrottledOperator(refusals=10**6)
    stubborn = Dispatcher(services.writer, [always], clock, seed=7)
    late = await send(client, phones="79261234567", valid="1")
    for _ in range(12):
        await stubborn.run_until_idle()
        await clock.advance(600)
    assert await status(client, late["id"], "79261234567") == (3, 220)


async def test_no_route_is_25_248_and_refunded(
    services: Services,
    client: httpx.AsyncClient,
    simulator: SimulatorChannel,
    clock: ManualClock,
    alice: str,
) -> None:
    await services.routes.add(Route(position=10, connector="simulator", country="DE"))
    dispatcher = Dispatcher(
        services.writer, [simulator], clock, routes=services.routes.table, seed=1
    )
    before = (await services.accounts.get("alice")).balance
    sent = await send(client, phones="79161234567", cost="2")
    assert (await services.accounts.get("alice")).balance == before - Decimal("1")
    await dispatcher.run_until_idle()
    assert simulator.submitted == []
    assert await status(client, sent["id"], "79161234567") == (25, 248)
    assert (await services.accounts.get("alice")).balance == before  # refunded in full
    await services.routes.add(Route(position=20, connector="simulator", country="RU"))
    later = await send(client, phones="79161234567", mes="second")
    await dispatcher.run_until_idle()
    assert await status(client, later["id"], "79161234567") == (0, 0)


class _RememberingOperator:
    """An operator that can tell which messages it already holds (after our crash)."""

    name = "remembering"

    available = True

    def __init__(self, holds: dict[int, str]) -> None:
        self.holds = holds
        self.submitted: list[int] = []

    async def submit(self, batch: Sequence[OutgoingMessage]) -> Sequence[SubmitOutcome]:
        self.submitted.extend(m.id for m in batch)
        return [Accepted(f"new-{m.id}") for m in batch]

    def due_receipts(self, now: float) -> list[Receipt]:
        return []

    async def recover(self, message_ids: Sequence[int]) -> dict[int, str]:
        return {i: self.holds[i] for i in message_ids if i in self.holds}


async def crash_mid_hand_over(services: Services, clock: ManualClock, connector: str) -> list[int]:
    """A dispatcher claims and records the connector, then dies before recording the hand-over."""

    async def claim_and_mark(conn: AsyncConnection) -> list[int]:
        claimed = await repo.claim(conn, clock.now(), 10, clock.now() + 60)
        ids = [m.id for m in claimed]
        await repo.mark_handing_over(conn, ids, connector, clock.now())
        return ids

    ids = await services.writer.submit(claim_and_mark)
    await clock.advance(61)  # the lease runs out
    return ids


async def test_in_doubt_messages_are_recovered_not_resent(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: str
) -> None:
    await send(client, phones="79161234567,79261234567")
    first, second = await crash_mid_hand_over(services, clock, "remembering")
    operator = _RememberingOperator(holds={first: "held-1"})
    await Dispatcher(services.writer, [operator], clock).run_until_idle()
    assert operator.submitted == [second]  # the one it never got, and only that one
    async with services.db.read() as conn:
        rows = await conn.execute(
            select(messages.c.id, messages.c.status, messages.c.provider_id).order_by(messages.c.id)
        )
        assert [tuple(r) for r in rows] == [(first, 0, "held-1"), (second, 0, f"new-{second}")]


async def test_in_doubt_messages_of_a_channel_that_cannot_tell_are_not_resent(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: str
) -> None:
    operator = _ThrottledOperator(refusals=0)  # takes everything, cannot say what it holds
    sent = await send(client, phones="79161234567")
    await crash_mid_hand_over(services, clock, operator.name)
    await Dispatcher(services.writer, [operator], clock).run_until_idle()
    assert operator.submits == 0  # at most once
    assert await status(client, sent["id"], "79161234567") == (0, 0)


async def test_the_simulator_log_survives_a_restart(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: str, tmp_path: Path
) -> None:
    """The simulated operator keeps what it was handed: after our crash it says so and still sends
    the receipts."""
    log = HandoverLog(tmp_path / "simulator.log")
    sent = await send(client, phones="79161234567,79261234567")
    first = SimulatorChannel(clock, log=log)
    ids = await crash_mid_hand_over(services, clock, first.name)
    async with services.db.read() as conn:
        claimed = [
            m for m in await conn.execute(select(messages.c.id, messages.c.phone)) if m.id == ids[0]
        ]
    await first.submit([_outgoing_for(claimed[0].id, claimed[0].phone)])  # then "we" died
    restarted = SimulatorChannel(clock, log=log)  # a new process, the same operator
    await Dispatcher(services.writer, [restarted], clock).run_until_idle()
    assert restarted.submitted == [ids[1]]  # only what it did not hold
    assert [m.id for m in log.load()] == ids  # each handed over once
    for phone in ("79161234567", "79261234567"):
        assert await status(client, sent["id"], phone) == (1, 0)


def _outgoing_for(message_id: int, phone: str) -> OutgoingMessage:
    return OutgoingMessage(message_id, phone, 0, None, "hello", 1, 0, None, False)


async def test_hlr_answer_reaches_status_php(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, alice: str
) -> None:
    simulator = SimulatorChannel(clock, SimulatorSettings(), plan=await services.numbering.plan())
    dispatcher = Dispatcher(services.writer, [simulator], clock, seed=1)
    sent = await send(client, phones="79161234567", hlr="1")
    await dispatcher.run_until_idle()
    params = {"login": "alice", "psw": PASSWORD, "fmt": "3", "id": str(sent["id"])}
    body = (await client.get("/sys/status.php", params={**params, "phone": "79161234567"})).json()
    assert (body["status"], body["err"]) == (1, 0)
    assert (body["mcc"], body["mnc"]) == ("250", "01")
    assert body["imsi"].startswith("25001") and len(body["imsi"]) == 15
    assert body["msc"] and body["net"]

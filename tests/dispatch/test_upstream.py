"""End to end through the Dispatcher: an upstream SMPP connector against every simulator behaviour,
on SQLite and PostgreSQL. No message is lost, none is accepted by the SMSC twice, each is recorded
as transferred once, and every receipt reaches its message (also when it overtakes the hand-over)."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

from smsgate.channels.smpp.settings import IdFormat
from smsgate.protocols.smpp.constants import CommandStatus
from smsgate.services.container import Services
from smsgate.simulators.behaviour import Behaviour
from tests.dispatch.upstream_support import (
    add_alice,
    deliver_everything,
    outcomes,
    send,
    transfers,
    upstream,
)
from tests.support.clock import ManualClock

PHONES = [f"791612345{n:02d}" for n in range(12)]
DELIVERED = (1, 0)

BEHAVIOURS = {
    "happy": Behaviour(),
    "slow": Behaviour(latency_s=0.5, latency_jitter_s=1.5),
    "throttling": Behaviour(throttle_every=3),
    "queue-full": Behaviour(throttle_every=4, throttle_status=CommandStatus.ESME_RMSGQFUL),
    "generic-nack": Behaviour(nack_every=3),
    "never-answers": Behaviour(silent=2),
    "unbind-mid-flight": Behaviour(unbind_after=4),
    "drops-connection": Behaviour(drop_after=4),
    "bad-pdu-length": Behaviour(bad_length_after=4),
    "receipts-as-data-sm": Behaviour(receipts="data_sm"),
    "delayed-receipts": Behaviour(receipt_delay_s=120.0),
    "receipt-before-response": Behaviour(receipt_before_response=True),
}


@pytest.mark.parametrize("name", list(BEHAVIOURS))
async def test_every_message_delivered_once(
    services: Services, client: httpx.AsyncClient, clock: ManualClock, name: str
) -> None:
    await add_alice(services)
    await send(client, ",".join(PHONES))
    async with upstream(services, clock, BEHAVIOURS[name]) as up:
        await deliver_everything(services, up, clock)
        accepted = Counter(a.pdu.destination_addr for a in up.smsc.accepted)
    assert await outcomes(services) == dict.fromkeys(PHONES, DELIVERED)
    assert accepted == dict.fromkeys(PHONES, 1)
    assert set((await transfers(services)).values()) == {1}


async def test_hex_ids_and_decimal_receipts_meet(
    services: Services, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await add_alice(services)
    await send(client, ",".join(PHONES))
    behaviour = Behaviour(id_format="hex", receipt_id_format="decimal")
    changes = {"submit_id_format": IdFormat.HEX, "receipt_id_format": IdFormat.DECIMAL}
    async with upstream(services, clock, behaviour, **changes) as up:
        await deliver_everything(services, up, clock)
    assert await outcomes(services) == dict.fromkeys(PHONES, DELIVERED)


async def test_multi_part_messages_are_final_with_every_part_receipt(
    services: Services, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await add_alice(services)
    await send(client, ",".join(PHONES[:4]), mes="z" * 400)  # 3 parts each
    behaviour = Behaviour(delivery_ratio=0.0, seed=1, drop_after=5)
    async with upstream(services, clock, behaviour) as up:
        await deliver_everything(services, up, clock)
        accepted = Counter(a.pdu.destination_addr for a in up.smsc.accepted)
    assert await outcomes(services) == dict.fromkeys(PHONES[:4], (20, 1))
    assert accepted == dict.fromkeys(PHONES[:4], 3)


async def test_refusals_end_the_message_and_the_rest_are_delivered(
    services: Services, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await add_alice(services)
    await send(client, ",".join(PHONES))
    async with upstream(services, clock, Behaviour(error_every=4)) as up:
        await deliver_everything(services, up, clock)
        refused = up.smsc.received - len(up.smsc.accepted)
    final = Counter((await outcomes(services)).values())
    assert final == {DELIVERED: len(PHONES) - refused, (20, 255): refused}
    assert refused == 3


async def test_delivery_ratio(
    services: Services, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await add_alice(services)
    await send(client, ",".join(PHONES))
    async with upstream(services, clock, Behaviour(delivery_ratio=0.5, seed=7)) as up:
        await deliver_everything(services, up, clock)
    assert set(Counter((await outcomes(services)).values())) == {DELIVERED, (20, 1)}

"""Incoming SMS end to end over real sockets: the SMSC simulator originates MO → our upstream
connector stores it (each part before its deliver_sm_resp) → get.php get_answers and the callback
→ smpplib, bound as a receiver to our SMPP server, gets it as deliver_sm (protocols.md §3.8)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from smsgate.channels.base import Accepted
from smsgate.channels.smpp.connector import SmppConnector
from smsgate.config import Settings
from smsgate.dispatch.upstream import bind_pacers
from smsgate.ingress.smpp.server import SmppServer
from smsgate.protocols.smpp.constants import CommandStatus
from smsgate.services.accounts import AccountChanges
from smsgate.services.container import Services
from smsgate.simulators.behaviour import Behaviour
from smsgate.simulators.smsc import SmscSimulator
from smsgate.store.schema import incoming, incoming_parts
from tests.channels.smpp.support import ReceiptLog, connector_settings, sms
from tests.conftest import make_settings
from tests.dispatch.callback_support import callback_sender
from tests.ingress.smpp.test_server import SMPP_PASSWORD, bound, in_thread, read_deliveries
from tests.peers.callback_receiver import CallbackReceiver
from tests.support.accounts import PASSWORD, call_json
from tests.support.clock import ManualClock

RENTED, NOBODYS = "79990000001", "79990000009"
SUBSCRIBER = "79161234567"
SHORT = "Привет! Ответ на рассылку"
LONG = "Длинный ответ абонента, который не помещается в одно сообщение. " * 3  # 3 UCS-2 parts


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, SMSGATE_CALLBACKS_ALLOW_PRIVATE_NETWORKS="1")


@pytest.fixture
async def hook(clock: ManualClock) -> AsyncIterator[CallbackReceiver]:
    receiver = CallbackReceiver(clock)
    await receiver.start()
    yield receiver
    await receiver.stop()


@pytest.fixture
async def alice(services: Services, hook: CallbackReceiver) -> None:
    await services.accounts.create("alice", PASSWORD, balance=Decimal("1000"))
    await services.accounts.change(
        "alice",
        AccountChanges(
            smpp_password=SMPP_PASSWORD,
            allowed_ips="127.0.0.1",
            callback_url=hook.url("fmt=3"),
            callback_secret="secret",
        ),
    )
    await services.inbound_numbers.add(RENTED, Decimal("300"), "RU")
    await services.inbound_numbers.buy(await services.accounts.get("alice"), RENTED, noprolong=None)


@pytest.fixture
async def smsc(clock: ManualClock) -> AsyncIterator[SmscSimulator]:
    async with SmscSimulator(clock, Behaviour()) as simulator:
        yield simulator


@pytest.fixture
async def connector(
    services: Services, clock: ManualClock, smsc: SmscSimulator
) -> AsyncIterator[SmppConnector]:
    async with SmppConnector(
        connector_settings(smsc.port),
        clock,
        ReceiptLog(),
        bind_pacers(clock),
        seed=1,
        mo_sink=services.incoming_receiver.receive,
    ) as opened:
        await opened.start()
        await opened.wait_up()
        yield opened


async def stored(services: Services) -> list[tuple[str, str, str]]:
    async with services.db.read() as conn:
        rows = await conn.execute(
            select(incoming.c.phone, incoming.c.to_phone, incoming.c.text).order_by(incoming.c.id)
        )
        return [(r.phone, r.to_phone, r.text) for r in rows]


def read_received(port: int, count: int) -> list[Any]:
    """The next ``count`` deliver_sm of a receiver that binds now."""
    return read_deliveries(bound(port, "receiver"), count)


def text_of(pdus: list[Any]) -> str:
    """What an ESME reads: UCS-2 or GSM-7 octets, the 8-bit-reference UDH taken off."""
    text = ""
    for pdu in pdus:
        octets = pdu.short_message
        if pdu.esm_class & 0x40:
            assert octets[:3] == b"\x05\x00\x03"
            octets = octets[6:]
        text += octets.decode("utf-16-be" if pdu.data_coding == 8 else "latin-1")
    return text


async def test_mo_end_to_end(
    services: Services,
    clock: ManualClock,
    client: httpx.AsyncClient,
    hook: CallbackReceiver,
    alice: None,
    smsc: SmscSimulator,
    connector: SmppConnector,
) -> None:
    assert await smsc.send_mo(f"+{SUBSCRIBER}", RENTED, SHORT) == [CommandStatus.ESME_ROK]
    # Answered after the commit: the row is there as soon as the ESME_ROK is.
    assert await stored(services) == [(SUBSCRIBER, RENTED, SHORT)]
    statuses = await smsc.send_mo(SUBSCRIBER, RENTED, LONG)
    assert statuses == [CommandStatus.ESME_ROK] * 3
    assert await stored(services) == [(SUBSCRIBER, RENTED, SHORT), (SUBSCRIBER, RENTED, LONG)]
    async with services.db.read() as conn:
        assert (await conn.execute(select(incoming_parts.c.id))).all() == []

    # A number nobody rents: acknowledged (operators retry forever otherwise), not stored.
    assert await smsc.send_mo(SUBSCRIBER, NOBODYS, "to nobody") == [CommandStatus.ESME_ROK]
    assert len(await stored(services)) == 2

    answers = await call_json(client, "get", "alice", get_answers="1")
    assert [(a["phone"], a["to_phone"], a["message"]) for a in answers] == [
        (SUBSCRIBER, RENTED, SHORT),
        (SUBSCRIBER, RENTED, LONG),
    ]

    async with callback_sender(services, clock) as sender:
        await sender.run_until_idle()
    fields = [dict(r.fields) for r in hook.received]
    assert [(f["phone"], f["to"], f["mes"]) for f in fields] == [
        (SUBSCRIBER, RENTED, SHORT),
        (SUBSCRIBER, RENTED, LONG),
    ]
    assert list(fields[0]) == ["id", "phone", "mes", "to", "sent", "time"]
    assert fields[0]["id"] == str(answers[0]["id"])

    # Queued while nobody was bound: a receiver binding now gets both, in order.
    async with SmppServer(
        services, services.settings.smpp, clock, host="127.0.0.1", node="test"
    ) as server:
        pdus = await in_thread(clock, lambda: read_received(server.ports["smpp"], 4))
    assert [p.source_addr.decode() for p in pdus] == [SUBSCRIBER] * 4
    assert [p.destination_addr.decode() for p in pdus] == [RENTED] * 4
    assert [(p.source_addr_ton, p.source_addr_npi) for p in pdus] == [(1, 1)] * 4
    assert [(p.esm_class, p.data_coding) for p in pdus] == [(0, 8)] + [(0x40, 8)] * 3
    assert text_of(pdus[:1]) == SHORT
    assert text_of(pdus[1:]) == LONG
    assert [p.short_message[5] for p in pdus[1:]] == [1, 2, 3]


async def test_simulator_replies_to_submits(
    services: Services, clock: ManualClock, alice: None
) -> None:
    behaviour = Behaviour(reply_text="STOP", receipts="none")
    async with (
        SmscSimulator(clock, behaviour) as smsc,
        SmppConnector(
            connector_settings(smsc.port),
            clock,
            ReceiptLog(),
            bind_pacers(clock),
            seed=1,
            mo_sink=services.incoming_receiver.receive,
        ) as connector,
    ):
        await connector.start()
        await connector.wait_up()
        outcome = await connector.submit([sms(1, phone=SUBSCRIBER, sender=RENTED)])
        assert isinstance(outcome[0], Accepted)
        await smsc.wait_idle()
    assert smsc.mo_acknowledged == ["STOP"]
    assert await stored(services) == [(SUBSCRIBER, RENTED, "STOP")]


async def test_store_down_asks_the_operator_to_retry(
    services: Services, clock: ManualClock, alice: None, smsc: SmscSimulator
) -> None:
    failures = [1]

    async def flaky(name: str, part: Any) -> object:
        if failures[0]:
            failures[0] -= 1
            raise OSError("store unavailable")
        return await services.incoming_receiver.receive(name, part)

    async with SmppConnector(
        connector_settings(smsc.port), clock, ReceiptLog(), bind_pacers(clock), mo_sink=flaky
    ) as connector:
        await connector.start()
        await connector.wait_up()
        sending = asyncio.ensure_future(smsc.send_mo(SUBSCRIBER, RENTED, "again"))
        while not sending.done():
            await clock.advance(1)  # the simulator retries after receipt_retry_s
            await asyncio.wait({sending}, timeout=0.01)
    assert sending.result() == [CommandStatus.ESME_ROK]
    assert await stored(services) == [(SUBSCRIBER, RENTED, "again")]

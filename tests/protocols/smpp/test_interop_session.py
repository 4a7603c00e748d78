"""smpplib's client (a third-party ESME) against a server built from our session layer."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator

import pytest
import smpplib.client
import smpplib.exceptions
import smpplib.smpp

from smsgate.protocols.smpp.constants import CommandStatus
from smsgate.protocols.smpp.listener import SmppListener
from smsgate.protocols.smpp.pdu import DeliverSm
from smsgate.protocols.smpp.session import SessionSettings
from tests.protocols.smpp.raw import WAIT_S
from tests.protocols.smpp.test_session import Smscs
from tests.support.clock import ManualClock


@pytest.fixture
async def listener(clock: ManualClock) -> AsyncIterator[tuple[SmppListener, Smscs]]:
    smscs = Smscs()
    settings = SessionSettings(enquire_link_interval_s=0)
    async with SmppListener(smscs, clock, settings=settings) as opened:
        yield opened, smscs


def smpplib_client(port: int) -> smpplib.client.Client:
    client = smpplib.client.Client("127.0.0.1", port, timeout=WAIT_S, allow_unknown_opt_params=True)
    client.connect()
    return client


def bind_submit_enquire(port: int) -> tuple[smpplib.client.Client, list[str]]:
    client = smpplib_client(port)
    client.bind_transceiver(system_id="alice", password="secret")
    message_ids = []
    for text in (b"first", b"second"):
        client.send_message(
            source_addr_ton=5,
            source_addr="smsgate",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr="79161234567",
            short_message=text,
        )
        response = client.read_pdu()
        assert response.command == "submit_sm_resp"
        assert response.status == 0
        message_ids.append(response.message_id.decode())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        client.send_pdu(smpplib.smpp.make_pdu("enquire_link", client=client))
    assert client.read_pdu().command == "enquire_link_resp"
    return client, message_ids


def receive_deliver_then_unbind(client: smpplib.client.Client) -> bytes:
    received: list[bytes] = []
    client.set_message_received_handler(lambda pdu: received.append(pdu.short_message))
    client.read_once()  # smpplib's own loop step: reads deliver_sm, answers deliver_sm_resp
    client.unbind()
    client.disconnect()
    (text,) = received
    return text


async def test_smpplib_binds_submits_enquires_receives_and_unbinds(
    listener: tuple[SmppListener, Smscs],
) -> None:
    server, smscs = listener
    client, message_ids = await asyncio.to_thread(bind_submit_enquire, server.port)
    assert message_ids == ["1", "2"]
    (handler,) = smscs.handlers
    assert [p.short_message for p in handler.submitted] == [b"first", b"second"]
    assert handler.submitted[0].source_addr == "smsgate"

    (session,) = server.sessions
    delivery = asyncio.ensure_future(session.deliver_sm(DeliverSm(short_message=b"MO text")))
    received = await asyncio.to_thread(receive_deliver_then_unbind, client)
    assert received == b"MO text"
    assert (await delivery).command_status == CommandStatus.ESME_ROK
    await asyncio.wait_for(handler.closed.wait(), WAIT_S)


def bind_with_wrong_password(port: int) -> int:
    client = smpplib_client(port)
    try:
        client.bind_transmitter(system_id="alice", password="wrong")
    except smpplib.exceptions.PDUError as exc:
        status: int = exc.args[1]
        return status
    finally:
        client.disconnect()
    raise AssertionError("bind succeeded")


async def test_smpplib_sees_a_refused_bind(listener: tuple[SmppListener, Smscs]) -> None:
    server, _ = listener
    status = await asyncio.to_thread(bind_with_wrong_password, server.port)
    assert status == CommandStatus.ESME_RINVPASWD

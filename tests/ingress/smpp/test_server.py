"""The SMPP server against smpplib, a third-party ESME: binds, submits, receipts, query and cancel."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any, TypeVar

import httpx
import pytest
import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.gsm
import smpplib.smpp

from smsgate.channels.simulator import SimulatorChannel
from smsgate.dispatch.worker import Dispatcher
from smsgate.domain.pricing import TariffRule
from smsgate.ingress.smpp.server import SmppServer
from smsgate.protocols.smpp.constants import CommandStatus, MessageState
from smsgate.protocols.smpp.handler import BaseHandler
from smsgate.protocols.smpp.pdu import BindTransceiver, CancelSm, QuerySm
from smsgate.protocols.smpp.session import open_session
from smsgate.services.accounts import AccountChanges
from smsgate.services.container import Services
from tests.support.clock import ManualClock

PASSWORD = "password-1"
SMPP_PASSWORD = "smpp1234"
WAIT_S = 10.0
T = TypeVar("T")


@pytest.fixture
async def server(services: Services, clock: ManualClock) -> AsyncIterator[SmppServer]:
    await services.accounts.create("alice", PASSWORD, balance=Decimal("100"))
    await services.accounts.change(
        "alice", AccountChanges(smpp_password=SMPP_PASSWORD, allowed_ips="127.0.0.1")
    )
    await services.tariffs.set(TariffRule(price=Decimal("1.5")))
    settings = services.settings.smpp
    async with SmppServer(services, settings, clock, host="127.0.0.1", node="test") as opened:
        yield opened


async def in_thread(clock: ManualClock, work: Callable[[], T]) -> T:
    """Run a blocking smpplib call while the server's clock keeps moving (receipts are polled)."""
    future = asyncio.ensure_future(asyncio.to_thread(work))
    while not future.done():
        await clock.advance(0.25)
        await asyncio.wait({future}, timeout=0.01)
    return future.result()


def connect(port: int) -> smpplib.client.Client:
    client = smpplib.client.Client("127.0.0.1", port, timeout=WAIT_S, allow_unknown_opt_params=True)
    client.connect()
    return client


def bound(port: int, kind: str = "transceiver") -> smpplib.client.Client:
    client = connect(port)
    getattr(client, f"bind_{kind}")(system_id="alice", password=SMPP_PASSWORD)
    return client


def read_deliveries(client: smpplib.client.Client, count: int) -> list[Any]:
    """The next ``count`` deliver_sm that the bound ``client`` reads; then it unbinds and
    disconnects. Blocking: run it with :func:`in_thread`."""
    received: list[Any] = []
    client.set_message_received_handler(lambda pdu: received.append(pdu))
    while len(received) < count:
        client.read_once()
    client.unbind()
    client.disconnect()
    return received


def submit(client: smpplib.client.Client, **fields: Any) -> Any:
    params: dict[str, Any] = {
        "source_addr_ton": 5,
        "source_addr": "",
        "dest_addr_ton": 1,
        "dest_addr_npi": 1,
        "destination_addr": "79161234567",
        "short_message": b"hello",
    }
    params.update(fields)
    client.send_message(**params)
    return client.read_pdu()


def request(client: smpplib.client.Client, command: str, **fields: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        client.send_pdu(smpplib.smpp.make_pdu(command, client=client, **fields))
    return client.read_pdu()


def bind_status(port: int, password: str) -> int:
    client = connect(port)
    try:
        client.bind_transmitter(system_id="alice", password=password)
    except smpplib.exceptions.PDUError as exc:
        status: int = exc.args[1]
        return status
    finally:
        client.disconnect()
    return 0


async def status_php(client: httpx.AsyncClient, message_id: str, phone: str) -> dict[str, Any]:
    params = {"login": "alice", "psw": PASSWORD, "fmt": "3", "id": message_id, "phone": phone}
    params["all"] = "1"
    body: dict[str, Any] = (await client.get("/sys/status.php", params=params)).json()
    return body


async def test_bind_refusals(server: SmppServer, services: Services, clock: ManualClock) -> None:
    port = server.ports["smpp"]
    assert await in_thread(clock, lambda: bind_status(port, "wrong")) == (
        CommandStatus.ESME_RINVPASWD
    )
    assert await in_thread(clock, lambda: bind_status(port, SMPP_PASSWORD)) == 0
    await services.accounts.change("alice", AccountChanges(allowed_ips="192.0.2.0/24"))
    services.directory.forget_all()
    assert await in_thread(clock, lambda: bind_status(port, SMPP_PASSWORD)) == (
        CommandStatus.ESME_RBINDFAIL
    )


async def test_gsm_and_ucs2_submits_show_in_status_php(
    server: SmppServer, clock: ManualClock, client: httpx.AsyncClient
) -> None:
    def work() -> tuple[Any, Any]:
        esme = bound(server.ports["smpp"])
        latin = submit(esme, short_message=b"Hello from SMPP")
        cyrillic = submit(
            esme,
            destination_addr="79161234568",
            data_coding=smpplib.consts.SMPP_ENCODING_ISO10646,
            short_message="Привет".encode("utf-16-be"),
        )
        esme.unbind()
        esme.disconnect()
        return latin, cyrillic

    latin, cyrillic = await in_thread(clock, work)
    assert latin.status == 0 and cyrillic.status == 0
    first = await status_php(client, latin.message_id.decode(), "79161234567")
    assert first["status"] == -1 and first["message"] == "Hello from SMPP"
    second = await status_php(client, cyrillic.message_id.decode(), "79161234568")
    assert second["message"] == "Привет" and Decimal(second["cost"]) == Decimal("1.5")


async def test_a_concatenated_message_is_stored_once_under_one_id(
    server: SmppServer, clock: ManualClock, client: httpx.AsyncClient
) -> None:
    text = "Part of a long message. " * 12  # 288 characters: two UDH parts of GSM-7

    def work() -> list[Any]:
        esme = bound(server.ports["smpp"])
        parts, encoding, esm_class = smpplib.gsm.make_parts(text)
        answers = [
            submit(esme, short_message=part, data_coding=encoding, esm_class=esm_class)
            for part in parts
        ]
        esme.unbind()
        esme.disconnect()
        return answers

    answers = await in_thread(clock, work)
    ids = {a.message_id for a in answers}
    assert len(answers) >= 2 and len(ids) == 1 and all(a.status == 0 for a in answers)
    stored = await status_php(client, ids.pop().decode(), "79161234567")
    assert stored["message"] == text and stored["sms_cnt"] == 2
    assert Decimal(stored["cost"]) == Decimal("3.0")


async def test_bad_submits_get_their_command_status(server: SmppServer, clock: ManualClock) -> None:
    def work() -> list[int]:
        esme = bound(server.ports["smpp"])
        statuses = [
            submit(esme, destination_addr="12").status,
            submit(esme, esm_class=0x08).status,
            submit(esme, priority_flag=7).status,
            submit(esme, data_coding=0x05).status,
            submit(esme, source_addr="NotMine").status,
            submit(esme, schedule_delivery_time="991332250000000+").status,
            submit(esme, short_message=b"", message_payload=b"x" * 1001).status,
        ]
        esme.unbind()
        esme.disconnect()
        return statuses

    assert await in_thread(clock, work) == [
        CommandStatus.ESME_RINVDSTADR,
        CommandStatus.ESME_RINVESMCLASS,
        CommandStatus.ESME_RINVPRTFLG,
        CommandStatus.ESME_RINVDCS,
        CommandStatus.ESME_RINVSRCADR,
        CommandStatus.ESME_RINVSCHED,
        CommandStatus.ESME_RINVMSGLEN,
    ]


async def test_receipts_reach_the_receiver_after_the_final_status(
    server: SmppServer, services: Services, clock: ManualClock
) -> None:
    simulator = SimulatorChannel(clock)
    dispatcher = Dispatcher(services.writer, [simulator], clock, seed=1)

    def submit_two() -> tuple[smpplib.client.Client, list[str]]:
        esme = bound(server.ports["smpp"])
        ids = [
            submit(esme, registered_delivery=1).message_id.decode(),
            # ending in 0: the simulator's unknown subscriber (20, err 1)
            submit(esme, destination_addr="79161234560", registered_delivery=1).message_id.decode(),
        ]
        return esme, ids

    esme, ids = await in_thread(clock, submit_two)
    await dispatcher.run_until_idle()
    await clock.advance(5)
    await dispatcher.run_until_idle()

    receipts = await in_thread(clock, lambda: read_deliveries(esme, 2))
    texts = {r.receipted_message_id.decode(): r.short_message.decode() for r in receipts}
    assert set(texts) == set(ids)
    assert "stat:DELIVRD err:000" in texts[ids[0]] and "text:hello" in texts[ids[0]]
    assert "stat:UNDELIV err:001" in texts[ids[1]]
    assert all(r.esm_class == 0x04 for r in receipts)


async def test_receipts_wait_until_a_receiver_binds(
    server: SmppServer, services: Services, clock: ManualClock
) -> None:
    simulator = SimulatorChannel(clock)
    dispatcher = Dispatcher(services.writer, [simulator], clock, seed=1)

    def transmit() -> str:
        esme = bound(server.ports["smpp"], "transmitter")
        message_id: str = submit(esme, registered_delivery=1).message_id.decode()
        esme.unbind()
        esme.disconnect()
        return message_id

    message_id = await in_thread(clock, transmit)
    await dispatcher.run_until_idle()
    await clock.advance(60)  # nobody bound: the receipt waits in the store
    await dispatcher.run_until_idle()

    [receipt] = await in_thread(
        clock, lambda: read_deliveries(bound(server.ports["smpp"], "receiver"), 1)
    )
    assert receipt.receipted_message_id.decode() == message_id


async def test_query_and_cancel(server: SmppServer, clock: ManualClock, services: Services) -> None:
    def work() -> tuple[Any, ...]:
        esme = bound(server.ports["smpp"])
        message_id = submit(esme).message_id.decode()
        queried = request(esme, "query_sm", message_id=message_id, source_addr="")
        unknown = request(esme, "query_sm", message_id="999999", source_addr="")
        bad = request(esme, "query_sm", message_id="abc", source_addr="")
        esme.unbind()
        esme.disconnect()
        return message_id, queried, unknown, bad

    before = (await services.accounts.get("alice")).balance
    message_id, queried, unknown, bad = await in_thread(clock, work)
    assert queried.status == 0 and queried.message_state == 1  # ENROUTE while waiting
    assert unknown.status == CommandStatus.ESME_RQUERYFAIL
    assert bad.status == CommandStatus.ESME_RINVMSGID
    # smpplib has no cancel_sm: our own ESME session asks.
    session = await open_session("127.0.0.1", server.ports["smpp"], BaseHandler(), clock=clock)
    try:
        await session.bind(BindTransceiver(system_id="alice", password=SMPP_PASSWORD))
        assert (await session.cancel_sm(CancelSm(message_id=message_id))).command_status == 0
        again = await session.cancel_sm(CancelSm(message_id=message_id))
        assert again.command_status == CommandStatus.ESME_RCANCELFAIL
        query = await session.query_sm(QuerySm(message_id=message_id))
        assert query.message_state == MessageState.DELETED and query.final_date
    finally:
        await session.close()
    assert (await services.accounts.get("alice")).balance == before  # debited, then refunded

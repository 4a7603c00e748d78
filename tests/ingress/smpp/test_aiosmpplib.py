"""The SMPP server against aiosmpplib's ESME, a second independent client: bind and its refusals,
GSM-7 and UCS-2 submits, a long text as message_payload or as UDH parts, and the receipts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal

import httpx
import pytest
from aiosmpplib import ESME, PhoneNumber, SubmitSm
from aiosmpplib.broker import SimpleBroker
from aiosmpplib.hook import AbstractHook
from aiosmpplib.protocol import DeliverSm, SmppMessage, SubmitSmResp
from aiosmpplib.state import SmppCommand
from aiosmpplib.state import SmppError as AioSmppError

from smsgate.channels.simulator import SimulatorChannel
from smsgate.config import Seconds
from smsgate.dispatch.worker import Dispatcher
from smsgate.domain.pricing import TariffRule
from smsgate.ingress.smpp.server import SmppServer
from smsgate.protocols.smpp.codec import decode_pdu
from smsgate.protocols.smpp.constants import CommandStatus
from smsgate.protocols.smpp.pdu import SubmitSm as OurSubmitSm
from smsgate.protocols.smpp.pdu import SubmitSmResp as OurSubmitSmResp
from smsgate.services.accounts import AccountChanges
from smsgate.services.container import Services
from tests.conftest import table_count
from tests.support.clock import ManualClock

PASSWORD = "password-1"
SMPP_PASSWORD = "smpp1234"
WAIT_S = 15.0


class Recorder(AbstractHook):
    """Keeps what the ESME receives."""

    def __init__(self) -> None:
        self.messages: list[SmppMessage] = []
        self.errors: list[Exception] = []
        self.sent: list[bytes] = []
        self.raw: list[bytes] = []  # every PDU read, also those aiosmpplib passes on as None

    async def sending(self, smpp_message: SmppMessage, pdu: bytes, client_id: str) -> None:
        self.sent.append(pdu)

    async def received(self, smpp_message: SmppMessage | None, pdu: bytes, client_id: str) -> None:
        self.raw.append(pdu)
        if smpp_message is not None:
            self.messages.append(smpp_message)

    async def send_error(self, smpp_message: SmppMessage, error: Exception, client_id: str) -> None:
        self.errors.append(error)

    def of(self, kind: type[SmppMessage]) -> list[SmppMessage]:
        return [m for m in self.messages if isinstance(m, kind)]


@pytest.fixture
async def server(services: Services, clock: ManualClock) -> AsyncIterator[SmppServer]:
    await services.accounts.create("alice", PASSWORD, balance=Decimal("100"))
    await services.accounts.change(
        "alice", AccountChanges(smpp_password=SMPP_PASSWORD, allowed_ips="127.0.0.1")
    )
    await services.tariffs.set(TariffRule(price=Decimal("1")))
    # This client keeps the link alive on real time only; the server's idle timer runs on the
    # test clock, which the test moves quickly.
    settings = replace(services.settings.smpp, idle_timeout=Seconds(10**6))
    async with SmppServer(services, settings, clock, host="127.0.0.1", node="test") as opened:
        yield opened


async def until(clock: ManualClock, done: object) -> None:
    """Let both sides run (moving the server's clock) until ``done()`` is true."""
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while not done():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await clock.advance(0.25)
        await asyncio.wait({asyncio.ensure_future(asyncio.sleep(0))}, timeout=0.02)


# aiosmpplib leaves its own socket to the garbage collector after stop(); not ours to close.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
async def test_aiosmpplib_submits_and_receives_receipts(
    server: SmppServer, services: Services, clock: ManualClock, client: httpx.AsyncClient
) -> None:
    recorder = Recorder()
    broker = SimpleBroker()
    esme = ESME(
        "127.0.0.1",
        server.ports["smpp"],
        "alice",
        SMPP_PASSWORD,
        hook=recorder,
        broker=broker,
        log_level=logging.WARNING,
        enquire_link_interval=300.0,
    )
    running = asyncio.ensure_future(esme.start())
    try:
        texts = {
            "79161234567": "Hello from aiosmpplib",
            "79161234568": "Привет из aiosmpplib",
            "79161234561": "Long " * 60,  # 300 characters: message_payload
        }
        for n, (phone, text) in enumerate(texts.items()):
            await broker.enqueue(
                SubmitSm(
                    short_message=text,
                    source=PhoneNumber(""),
                    destination=PhoneNumber(phone),
                    registered_delivery=1,
                    log_id=f"m{n}",
                )
            )
        await until(clock, lambda: len(recorder.of(SubmitSmResp)) == len(texts))
        responses = recorder.of(SubmitSmResp)
        assert all(r.command_status == 0 for r in responses), responses
        ids = {r.log_id: r.message_id for r in responses}  # type: ignore[attr-defined]
        for n, (phone, text) in enumerate(texts.items()):
            params = {"login": "alice", "psw": PASSWORD, "fmt": "3", "all": "1"}
            params.update(id=str(ids[f"m{n}"]), phone=phone)
            body = (await client.get("/sys/status.php", params=params)).json()
            assert body["message"] == text, body

        dispatcher = Dispatcher(services.writer, [SimulatorChannel(clock)], clock, seed=1)
        await dispatcher.run_until_idle()
        await clock.advance(5)  # the simulator's receipts come after its latency
        await dispatcher.run_until_idle()
        await until(clock, lambda: len(recorder.of(DeliverSm)) == len(texts))
        by_id: dict[str, str] = {}
        for receipt in recorder.of(DeliverSm):
            text = str(receipt.short_message)  # type: ignore[attr-defined]
            by_id[text.split(" ", 1)[0].removeprefix("id:")] = text
        assert "stat:DELIVRD err:000 text:Hello from aiosmppli" in by_id[str(ids["m0"])]
        # The simulator takes numbers ending in 8 as switched off: undeliverable, err 6.
        assert "stat:UNDELIV err:006 text:Privet iz aiosmpplib" in by_id[str(ids["m1"])]
        assert "stat:DELIVRD" in by_id[str(ids["m2"])]
        assert not recorder.errors
    finally:
        await esme.stop()
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


def aio_esme(port: int, password: str, recorder: Recorder, broker: SimpleBroker) -> ESME:
    return ESME(
        "127.0.0.1",
        port,
        "alice",
        password,
        hook=recorder,
        broker=broker,
        log_level=logging.CRITICAL,  # a refused bind is logged as an error by aiosmpplib
        enquire_link_interval=300.0,
    )


async def refused_bind(port: int, password: str) -> tuple[SmppCommand, int]:
    """Bind once with aiosmpplib (no reconnect loop): the bind_transceiver_resp as its header parser
    reads it from the wire. The server has closed the connection afterwards."""
    recorder = Recorder()
    esme = aio_esme(port, password, recorder, SimpleBroker())
    try:
        # aiosmpplib raises SmppError(status) for a refused bind_resp with a body, but its body
        # parser fails (ValueError) on the body-less one that SMPP 3.4 §4.1 prescribes for a
        # non-zero command_status ("The bind_receiver_resp PDU Body is not returned if the
        # command_status field contains a non-zero value", §4.1.4); its hook reads it either way.
        with pytest.raises((AioSmppError, ValueError)):
            await esme.connect()
        # protocols.md §3.2: each failing bind is answered and the connection closed (read on
        # aiosmpplib's own stream: it has no public way to tell).
        assert await asyncio.wait_for(esme._reader.read(), WAIT_S) == b""
    finally:
        # aiosmpplib leaves the socket of a refused bind open; close it here, not in the GC.
        writer = esme._writer
        if writer is not None:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
    assert len(recorder.raw) == 1
    header = SmppMessage.parse_header(recorder.raw[0])
    return header.smpp_command, int(header.command_status)


async def test_aiosmpplib_sees_the_bind_refusals(server: SmppServer, services: Services) -> None:
    port = server.ports["smpp"]
    resp = SmppCommand.BIND_TRANSCEIVER_RESP
    assert await refused_bind(port, "wrong") == (resp, CommandStatus.ESME_RINVPASWD)
    # An address outside the account's IP allow-list (protocols.md §3.2).
    await services.accounts.change("alice", AccountChanges(allowed_ips="192.0.2.0/24"))
    services.directory.forget_all()
    assert await refused_bind(port, SMPP_PASSWORD) == (resp, CommandStatus.ESME_RBINDFAIL)


# aiosmpplib leaves its own socket to the garbage collector after stop(); not ours to close.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
async def test_aiosmpplib_udh_parts_are_stored_as_one_message(
    server: SmppServer, services: Services, clock: ManualClock, client: httpx.AsyncClient
) -> None:
    recorder, broker = Recorder(), SimpleBroker()
    esme = aio_esme(server.ports["smpp"], SMPP_PASSWORD, recorder, broker)
    running = asyncio.ensure_future(esme.start())
    text = "A long message that aiosmpplib splits itself. " * 8  # 368 GSM-7 characters
    try:
        # UDHI set and no automatic message_payload: aiosmpplib cuts the text into UDH parts.
        long = SubmitSm(
            short_message=text,
            source=PhoneNumber(""),
            destination=PhoneNumber("79161234567"),
            esm_class=0x40,
            auto_message_payload=False,
            registered_delivery=0,
            log_id="long",
        )
        await broker.enqueue(long)

        # aiosmpplib hands its hook one SubmitSmResp for the whole message; every part's response
        # is among the PDUs it read.
        def responses() -> list[OurSubmitSmResp]:
            read = [decode_pdu(pdu) for pdu in recorder.raw]
            return [pdu for pdu in read if isinstance(pdu, OurSubmitSmResp)]

        await until(clock, lambda: len(responses()) == 3)
        parts = [pdu for pdu in map(decode_pdu, recorder.sent) if isinstance(pdu, OurSubmitSm)]
        assert len(parts) == 3
        for seq, part in enumerate(parts, start=1):
            assert part.esm_class & 0x40 and part.tlvs.message_payload is None
            udh = part.short_message[:6]
            assert udh[:3] == b"\x05\x00\x03" and udh[4:] == bytes([3, seq])  # 8-bit reference
        assert [r.command_status for r in responses()] == [0, 0, 0]
        ids = {r.message_id for r in responses()}
        assert len(ids) == 1
        await until(clock, lambda: len(recorder.of(SubmitSmResp)) == 1)  # what the app is told
        params = {"login": "alice", "psw": PASSWORD, "fmt": "3", "all": "1"}
        params.update(id=str(ids.pop()), phone="79161234567")
        body = (await client.get("/sys/status.php", params=params)).json()
        assert body["message"] == text and body["sms_cnt"] == 3, body
        assert Decimal(body["cost"]) == Decimal("3")
        assert await table_count(services, "messages") == 1
        assert not recorder.errors
    finally:
        await esme.stop()
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)

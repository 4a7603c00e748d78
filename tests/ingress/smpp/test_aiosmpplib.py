"""The SMPP server against aiosmpplib's ESME, a second independent client: bind, GSM-7 and UCS-2
submits, a long text as message_payload, and the receipts."""

from __future__ import annotations

import asyncio
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

from smsgate.channels.simulator import SimulatorChannel
from smsgate.config import Seconds
from smsgate.dispatch.worker import Dispatcher
from smsgate.domain.pricing import TariffRule
from smsgate.ingress.smpp.server import SmppServer
from smsgate.services.accounts import AccountChanges
from smsgate.services.container import Services
from tests.support.clock import ManualClock

PASSWORD = "password-1"
SMPP_PASSWORD = "smpp1234"
WAIT_S = 15.0


class Recorder(AbstractHook):
    """Keeps what the ESME receives."""

    def __init__(self) -> None:
        self.messages: list[SmppMessage] = []
        self.errors: list[Exception] = []

    async def sending(self, smpp_message: SmppMessage, pdu: bytes, client_id: str) -> None:
        return None

    async def received(self, smpp_message: SmppMessage | None, pdu: bytes, client_id: str) -> None:
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

"""Helpers for connector tests: settings against a local port, a receipt sink that records."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from smsgate.channels.base import OutgoingMessage, Receipt
from smsgate.channels.smpp.connector import ReceiptSink, SmppConnector
from smsgate.channels.smpp.settings import BindSettings, ConnectorSettings
from smsgate.dispatch.upstream import bind_pacers
from smsgate.simulators.behaviour import Behaviour
from smsgate.simulators.smsc import SmscSimulator
from tests.support.clock import ManualClock


def bind_settings(port: int, **changes: Any) -> BindSettings:
    base = BindSettings(
        host="127.0.0.1",
        port=port,
        system_id="smsgate",
        password="secret",
        reconnect_min_s=1.0,
        reconnect_max_s=2.0,
        response_timeout_s=10.0,
    )
    return replace(base, **changes)


def connector_settings(
    port: int, *, bind: dict[str, Any] | None = None, **changes: Any
) -> ConnectorSettings:
    base = ConnectorSettings(name="operator", binds=(bind_settings(port, **(bind or {})),))
    return replace(base, **changes)


class ReceiptLog:
    """A sink that keeps what it is given; ``failures`` refusals first (the store being down)."""

    def __init__(self, failures: int = 0) -> None:
        self.receipts: list[Receipt] = []
        self.failures = failures
        self.arrived = asyncio.Event()
        self.refused = asyncio.Event()

    async def __call__(self, connector: str, receipts: Sequence[Receipt]) -> None:
        if self.failures:
            self.failures -= 1
            self.refused.set()
            raise OSError("store unavailable")
        self.receipts.extend(receipts)
        self.arrived.set()

    async def wait_for(self, count: int) -> list[Receipt]:
        while len(self.receipts) < count:
            self.arrived.clear()
            await self.arrived.wait()
        return self.receipts


@asynccontextmanager
async def slow_smsc(
    clock: ManualClock, window: int
) -> AsyncIterator[tuple[SmscSimulator, SmppConnector]]:
    """The simulator answering each submit_sm after 1 s of ``clock``, and a connector bound to it
    with one bind of ``window``: what is in flight and what waits stay put until the clock moves."""
    async with (
        SmscSimulator(clock, Behaviour(latency_s=1.0)) as smsc,
        bound_connector(
            connector_settings(smsc.port, bind={"window": window}), clock, ReceiptLog()
        ) as connector,
    ):
        yield smsc, connector


@asynccontextmanager
async def bound_connector(
    settings: ConnectorSettings, clock: ManualClock, sink: ReceiptSink
) -> AsyncIterator[SmppConnector]:
    async with SmppConnector(settings, clock, sink, bind_pacers(clock), seed=1) as connector:
        await connector.start()
        await connector.wait_up()
        yield connector


def sms(
    message_id: int, text: str = "hello", phone: str = "79161234567", **changes: Any
) -> OutgoingMessage:
    base = OutgoingMessage(
        id=message_id,
        phone=phone,
        msg_type=0,
        sender="smsgate",
        text=text,
        parts=1,
        encoding=0,
        options=None,
        test=False,
    )
    return replace(base, **changes)


async def settle(rounds: int = 20) -> None:
    """Let the event loop run what is ready (a few passes), without waiting for time."""
    for _ in range(rounds):
        await asyncio.sleep(0)

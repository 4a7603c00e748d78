"""One upstream bind's send queue against the SMSC simulator: window, order, cancellation, loss."""

from __future__ import annotations

import asyncio

import pytest

from smsgate.channels.base import Accepted
from smsgate.protocols.smpp.pdu import SubmitSm
from smsgate.simulators.behaviour import Behaviour
from smsgate.simulators.smsc import SmscSimulator
from tests.channels.smpp.support import (
    ReceiptLog,
    bound_connector,
    connector_settings,
    settle,
    slow_smsc,
    sms,
)
from tests.support.clock import ManualClock


async def test_a_batch_larger_than_the_window_goes_out_in_order(clock: ManualClock) -> None:
    async with slow_smsc(clock, window=2) as (smsc, connector):
        batch = [sms(n, phone=f"7916000{n:04d}") for n in range(1, 26)]
        sending = asyncio.create_task(connector.submit(batch))
        while not sending.done():
            await clock.advance(1.0)
            await settle()
        assert all(isinstance(outcome, Accepted) for outcome in sending.result())
    assert [a.pdu.destination_addr for a in smsc.accepted] == [m.phone for m in batch]
    assert smsc.max_in_flight == 2


async def test_a_sender_cancelled_while_queued_is_never_sent(clock: ManualClock) -> None:
    async with slow_smsc(clock, window=1) as (smsc, connector):
        bind = connector.binds[0]
        first, second, third = (
            asyncio.create_task(bind.send(SubmitSm(destination_addr=str(n)))) for n in (1, 2, 3)
        )
        await smsc.wait_received(1)
        assert bind.in_flight == 1 and bind.queued == 2
        second.cancel()
        while not third.done():
            await clock.advance(1.0)
            await settle()
        assert (await first) is not None and (await third) is not None
        assert second.cancelled()
        assert bind.in_flight == 0 and bind.queued == 0
    assert [a.pdu.destination_addr for a in smsc.accepted] == ["1", "3"]


async def test_what_waits_comes_back_unanswered_when_the_bind_goes_down(
    clock: ManualClock,
) -> None:
    async with slow_smsc(clock, window=1) as (smsc, connector):
        bind = connector.binds[0]
        sends = [
            asyncio.create_task(bind.send(SubmitSm(destination_addr=str(n)))) for n in (1, 2, 3)
        ]
        await smsc.wait_received(1)
        await smsc.drop_all()
        # In flight or queued: none of them is answered, and nothing more was sent.
        assert await asyncio.gather(*sends) == [None, None, None]
        assert bind.in_flight == 0 and bind.queued == 0
        assert smsc.received == 1
        assert await bind.send(SubmitSm(destination_addr="4")) is None  # down until it rebinds


async def test_the_window_and_the_rate_hold_together(clock: ManualClock) -> None:
    """Window 2, 8 a second, answers after 0.5 s: two go at 0 and 0.125 (the rate), the next two
    only as answers free their slots (0.5 and 0.625), never earlier for having waited. (Steps of
    1/16 s, which floats hold exactly.)"""
    async with (
        SmscSimulator(clock, Behaviour(latency_s=0.5)) as smsc,
        bound_connector(
            connector_settings(smsc.port, bind={"window": 2, "tps": 8.0}), clock, ReceiptLog()
        ) as connector,
    ):
        start = clock.monotonic()
        sending = asyncio.create_task(connector.submit([sms(n) for n in range(1, 5)]))
        await settle()
        while not sending.done():
            await clock.advance(0.0625)
            await settle()
        assert all(isinstance(outcome, Accepted) for outcome in sending.result())
        assert connector.binds[0].pacer.bucket.waiting == 0
    arrivals = [at - start for at in smsc.arrivals]
    assert arrivals == pytest.approx([0.0, 0.125, 0.5, 0.625], abs=1e-6)
    assert smsc.max_in_flight == 2

"""Our connector against an independent SMSC (``tests/peers/smpp34_smsc.py``, built on smpp34):
window and TPS measured at the SMSC, receipts correlated across id formats, reconnect after the
link to the SMSC drops (cut by ``tests/peers/tcp_proxy.py``)."""

from __future__ import annotations

import asyncio

from smsgate.channels.base import Accepted
from smsgate.channels.smpp.settings import IdFormat
from tests.channels.smpp.support import (
    ReceiptLog,
    bound_connector,
    connector_settings,
    sms,
)
from tests.dispatch.upstream_support import QUIET_S, eventually, run_with_time
from tests.peers.smpp34_smsc import Smpp34Smsc
from tests.peers.tcp_proxy import TcpProxy
from tests.support.clock import ManualClock

IDS = {"submit_id_format": IdFormat.HEX, "receipt_id_format": IdFormat.DECIMAL}


async def quiet() -> None:
    """Give the independent SMSC real time to show anything more (a deadline, not a pause)."""
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    await asyncio.wait({never}, timeout=QUIET_S)
    never.cancel()


async def test_window_is_respected(clock: ManualClock) -> None:
    async with Smpp34Smsc(clock, hold=True) as smsc:
        settings = connector_settings(smsc.port, bind={"window": 4}, **IDS)
        async with bound_connector(settings, clock, ReceiptLog()) as connector:
            sending = asyncio.create_task(connector.submit([sms(n) for n in range(1, 11)]))
            for answered in (4, 8, 10):
                await smsc.wait_for(answered)
                await quiet()
                assert len(smsc.arrivals) == answered  # nothing beyond the window went out
                smsc.release()
            outcomes = await sending
    assert smsc.max_outstanding == 4
    assert all(isinstance(o, Accepted) for o in outcomes)


async def test_tps_is_respected(clock: ManualClock) -> None:
    async with Smpp34Smsc(clock) as smsc:
        settings = connector_settings(smsc.port, bind={"tps": 10.0}, **IDS)
        async with bound_connector(settings, clock, ReceiptLog()) as connector:
            start = clock.monotonic()
            await run_with_time(clock, connector.submit([sms(n) for n in range(1, 11)]))
    gaps = [b - a for a, b in zip(smsc.arrivals, smsc.arrivals[1:], strict=False)]
    assert len(smsc.arrivals) == 10
    assert min(gaps) >= 0.1 - 1e-6
    assert smsc.arrivals[-1] - start >= 0.9 - 1e-6  # 10 messages at 10/s: 0.9 s at least


async def test_receipts_are_correlated(clock: ManualClock) -> None:
    sink = ReceiptLog()
    async with Smpp34Smsc(clock) as smsc:
        settings = connector_settings(smsc.port, **IDS)
        async with bound_connector(settings, clock, sink) as connector:
            outcomes = await connector.submit([sms(n) for n in range(1, 21)])
            receipts = await sink.wait_for(20)
            await smsc.wait_receipts(20)
    assert smsc.accepted[-1] == "00000014"
    provider_ids = {o.provider_id for o in outcomes if isinstance(o, Accepted)}
    assert provider_ids == {r.provider_id for r in receipts} == {str(n) for n in range(1, 21)}
    assert smsc.receipts_answered == [0] * 20


async def test_reconnects_after_the_smsc_drops(clock: ManualClock) -> None:
    sink = ReceiptLog()
    async with Smpp34Smsc(clock) as smsc, TcpProxy(smsc.port) as link:
        settings = connector_settings(link.port, **IDS)
        async with bound_connector(settings, clock, sink) as connector:
            assert await connector.submit([sms(1)]) == [Accepted("1", receipts=1)]
            await sink.wait_for(1)
            link.cut()  # the SMSC's side of the link is gone: no unbind, no answer

            async def down() -> bool:
                return not connector.available

            await eventually(clock, down)
            await run_with_time(clock, connector.wait_up())
            assert await connector.submit([sms(2)]) == [Accepted("2", receipts=1)]
            receipts = await sink.wait_for(2)
    assert smsc.binds == 2 and connector.binds[0].binds == 2
    assert [r.provider_id for r in receipts] == ["1", "2"]

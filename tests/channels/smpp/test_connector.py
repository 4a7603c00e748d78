"""The upstream connector against the SMSC simulator: parts, ids, receipts, failures, pacing."""

from __future__ import annotations

import asyncio

from smsgate.channels.base import (
    Accepted,
    DeliveryState,
    PermanentFailure,
    RouteFailure,
    TransientFailure,
)
from smsgate.channels.smpp.settings import IdFormat, LongMessages
from smsgate.domain.codes import MessageStatus
from smsgate.protocols.smpp.constants import CommandStatus, EsmClass
from smsgate.protocols.smpp.udh import concatenation, split_udh
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


async def test_accepted_with_the_providers_id_and_receipts_reach_the_sink(
    clock: ManualClock,
) -> None:
    sink = ReceiptLog()
    async with (
        SmscSimulator(clock) as smsc,
        bound_connector(connector_settings(smsc.port), clock, sink) as connector,
    ):
        outcomes = await connector.submit([sms(1), sms(2), sms(3)])
        assert outcomes == [Accepted(str(n), receipts=1) for n in (1, 2, 3)]
        receipts = await sink.wait_for(3)
    assert sorted(r.provider_id for r in receipts) == ["1", "2", "3"]
    assert {r.state for r in receipts} == {DeliveryState.DELIVERED}
    assert [a.pdu.short_message for a in smsc.accepted] == [b"hello"] * 3


async def test_long_text_goes_as_udh_parts_whose_receipts_all_name_the_message(
    clock: ManualClock,
) -> None:
    sink = ReceiptLog()
    async with (
        SmscSimulator(clock) as smsc,
        bound_connector(connector_settings(smsc.port), clock, sink) as connector,
    ):
        (outcome,) = await connector.submit([sms(1, text="x" * 400, parts=3)])
        receipts = await sink.wait_for(3)
    assert outcome == Accepted("1", part_ids=("2", "3"), receipts=3)
    assert sorted(r.provider_id for r in receipts) == ["1", "2", "3"]
    concat = []
    for accepted in smsc.accepted:
        assert accepted.pdu.esm_class & EsmClass.UDHI
        elements, text = split_udh(accepted.pdu.short_message)
        concat.append(concatenation(elements))
        assert set(text) == {ord("x")}
    assert [(c.total, c.seqnum) for c in concat if c] == [(3, 1), (3, 2), (3, 3)]


async def test_sar_and_payload_modes(clock: ManualClock) -> None:
    sink = ReceiptLog()
    async with SmscSimulator(clock) as smsc:
        settings = connector_settings(smsc.port, long_messages=LongMessages.SAR)
        async with bound_connector(settings, clock, sink) as connector:
            (sar,) = await connector.submit([sms(1, text="ж" * 100, parts=2)])
        settings = connector_settings(smsc.port, long_messages=LongMessages.PAYLOAD)
        async with bound_connector(settings, clock, sink) as connector:
            (payload,) = await connector.submit([sms(2, text="y" * 300, parts=2)])
    assert sar == Accepted("1", part_ids=("2",), receipts=2)
    first, second, whole = (a.pdu for a in smsc.accepted)
    assert (first.tlvs.sar_total_segments, first.tlvs.sar_segment_seqnum) == (2, 1)
    assert second.tlvs.sar_segment_seqnum == 2
    assert first.data_coding == 0x08 and len(first.short_message) == 134
    assert payload == Accepted("3", receipts=1)
    assert whole.tlvs.message_payload == b"y" * 300 and whole.short_message == b""


async def test_hex_response_ids_meet_decimal_receipt_ids(clock: ManualClock) -> None:
    sink = ReceiptLog()
    behaviour = Behaviour(id_format="hex", receipt_id_format="decimal")
    async with SmscSimulator(clock, behaviour) as smsc:
        settings = connector_settings(
            smsc.port, submit_id_format=IdFormat.HEX, receipt_id_format=IdFormat.DECIMAL
        )
        async with bound_connector(settings, clock, sink) as connector:
            outcomes = await connector.submit([sms(n) for n in range(1, 13)])
            receipts = await sink.wait_for(12)
    assert smsc.accepted[11].message_id == "0000000C"
    ids = {o.provider_id for o in outcomes if isinstance(o, Accepted)}
    assert ids == {r.provider_id for r in receipts} == {str(n) for n in range(1, 13)}


async def test_receipts_as_data_sm_and_undelivered_share(clock: ManualClock) -> None:
    sink = ReceiptLog()
    behaviour = Behaviour(receipts="data_sm", delivery_ratio=0.5, seed=3)
    async with (
        SmscSimulator(clock, behaviour) as smsc,
        bound_connector(connector_settings(smsc.port), clock, sink) as connector,
    ):
        await connector.submit([sms(n) for n in range(1, 21)])
        receipts = await sink.wait_for(20)
    states = {r.state for r in receipts}
    assert states == {DeliveryState.DELIVERED, DeliveryState.UNDELIVERABLE}
    assert {r.err for r in receipts if r.state is DeliveryState.UNDELIVERABLE} == {1}


async def test_status_table(clock: ManualClock) -> None:
    cases = [
        (CommandStatus.ESME_RSUBMITFAIL, PermanentFailure(MessageStatus.CANNOT_DELIVER, 255)),
        (CommandStatus.ESME_RINVDSTADR, PermanentFailure(MessageStatus.WRONG_NUMBER, 249)),
        (CommandStatus.ESME_RINVSRCADR, PermanentFailure(MessageStatus.CANNOT_DELIVER, 254)),
        (CommandStatus.ESME_RINVDSTTON, RouteFailure("SMSC answered ESME_RINVDSTTON")),
        (CommandStatus.ESME_RSYSERR, TransientFailure("SMSC answered ESME_RSYSERR")),
    ]
    for status, expected in cases:
        async with (
            SmscSimulator(clock, Behaviour(error_every=1, error_status=status)) as smsc,
            bound_connector(connector_settings(smsc.port), clock, ReceiptLog()) as connector,
        ):
            assert await connector.submit([sms(1)]) == [expected]


async def test_generic_nack_is_retried_later(clock: ManualClock) -> None:
    async with (
        SmscSimulator(clock, Behaviour(nack_every=1)) as smsc,
        bound_connector(connector_settings(smsc.port), clock, ReceiptLog()) as connector,
    ):
        (outcome,) = await connector.submit([sms(1)])
    assert isinstance(outcome, TransientFailure)
    assert smsc.accepted == []


async def test_unsupported_and_test_messages_are_left_to_other_routes(clock: ManualClock) -> None:
    async with (
        SmscSimulator(clock) as smsc,
        bound_connector(connector_settings(smsc.port), clock, ReceiptLog()) as connector,
    ):
        outcomes = await connector.submit([sms(1, msg_type=8), sms(2, test=True)])
    assert all(isinstance(o, RouteFailure) for o in outcomes)
    assert smsc.received == 0


async def test_window_is_never_exceeded(clock: ManualClock) -> None:
    async with slow_smsc(clock, window=3) as (smsc, connector):
        sending = asyncio.create_task(connector.submit([sms(n) for n in range(1, 11)]))
        await smsc.wait_received(3)
        await settle()
        assert smsc.in_flight == 3 and smsc.received == 3
        while not sending.done():
            await clock.advance(1.0)
            await settle()
        assert all(isinstance(o, Accepted) for o in sending.result())
    assert smsc.max_in_flight == 3


async def test_tps_spaces_submits(clock: ManualClock) -> None:
    async with (
        SmscSimulator(clock) as smsc,
        bound_connector(
            connector_settings(smsc.port, bind={"tps": 5.0}), clock, ReceiptLog()
        ) as connector,
    ):
        sending = asyncio.create_task(connector.submit([sms(n) for n in range(1, 7)]))
        while not sending.done():
            await clock.advance(0.05)
            await settle(10)
    gaps = [b - a for a, b in zip(smsc.arrivals, smsc.arrivals[1:], strict=False)]
    assert len(smsc.arrivals) == 6
    assert min(gaps) >= 0.2 - 1e-6


async def test_throttling_pauses_the_bind_and_retries_the_message(clock: ManualClock) -> None:
    behaviour = Behaviour(throttle_every=3)
    async with (
        SmscSimulator(clock, behaviour) as smsc,
        bound_connector(connector_settings(smsc.port), clock, ReceiptLog()) as connector,
    ):
        outcomes = await connector.submit([sms(n) for n in range(1, 4)])
        assert isinstance(outcomes[2], TransientFailure)
        later = asyncio.create_task(connector.submit([sms(4)]))
        await settle()
        assert smsc.received == 3  # paused: nothing goes before the backoff ends
        await clock.advance(1.0)
        assert await later == [Accepted("3", receipts=1)]


async def test_sink_failure_is_answered_for_a_retry(clock: ManualClock) -> None:
    sink = ReceiptLog(failures=1)
    async with (
        SmscSimulator(clock, Behaviour(receipt_retry_s=5.0)) as smsc,
        bound_connector(connector_settings(smsc.port), clock, sink) as connector,
    ):
        await connector.submit([sms(1)])
        await sink.refused.wait()
        await settle()
        assert sink.receipts == []
        await clock.advance(5.0)
        (receipt,) = await sink.wait_for(1)
    assert receipt.provider_id == "1"
    assert smsc.receipts_acknowledged == ["1"]


async def test_silent_smsc_times_out_and_the_bind_is_renewed(clock: ManualClock) -> None:
    async with (
        SmscSimulator(clock, Behaviour(silent=1)) as smsc,
        bound_connector(connector_settings(smsc.port), clock, ReceiptLog()) as connector,
    ):
        sending = asyncio.create_task(connector.submit([sms(1)]))
        while not sending.done():
            await clock.advance(1.0)
            await asyncio.sleep(0)
        assert isinstance(sending.result()[0], TransientFailure)
        while smsc.binds < 2:
            await clock.advance(1.0)
            await asyncio.sleep(0)
        await connector.wait_up()
        assert await connector.submit([sms(2)]) == [Accepted("1", receipts=1)]

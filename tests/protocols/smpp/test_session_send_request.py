"""SmppSession.send_request (answers by callback, for a caller with its own window) and
SmppSession.answer (a handler answering by itself), over real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from smsgate.protocols.smpp.codec import encode_pdu
from smsgate.protocols.smpp.constants import CommandStatus
from smsgate.protocols.smpp.errors import SmppError, SmppResponseTimeout, SmppSessionClosed
from smsgate.protocols.smpp.handler import BaseHandler
from smsgate.protocols.smpp.listener import SmppListener
from smsgate.protocols.smpp.pdu import (
    Bind,
    BindResp,
    BindTransceiver,
    GenericNack,
    Response,
    SubmitSm,
    SubmitSmResp,
)
from smsgate.protocols.smpp.session import SessionSettings, SmppSession
from tests.protocols.smpp.raw import WAIT_S, RawPeer, RawSmsc, connected_client
from tests.support.clock import ManualClock

S = CommandStatus


class Answers:
    """An answer callback that records what it was given."""

    def __init__(self) -> None:
        self.got: list[Response | SmppError] = []
        self.arrived = asyncio.Event()

    def __call__(self, outcome: Response | SmppError) -> None:
        self.got.append(outcome)
        self.arrived.set()

    async def next(self) -> Response | SmppError:
        await asyncio.wait_for(self.arrived.wait(), WAIT_S)
        self.arrived.clear()
        return self.got[-1]


async def test_a_response_is_handed_to_the_callback_which_can_send_the_next_request_at_once(
    raw_smsc: RawSmsc, clock: ManualClock
) -> None:
    session, smsc = await connected_client(raw_smsc, clock)
    second = Answers()

    def first_answered(outcome: Response | SmppError) -> None:
        assert isinstance(outcome, SubmitSmResp) and outcome.message_id == "m1"
        session.send_request(SubmitSm(destination_addr="2"), second)

    async with smsc:
        sequence = session.send_request(SubmitSm(destination_addr="1"), first_answered)
        request = await smsc.next_pdu()
        assert isinstance(request, SubmitSm) and request.sequence_number == sequence
        await smsc.send(SubmitSmResp(sequence, message_id="m1"))
        following = await smsc.next_pdu()  # sent by the callback, from the session's read
        assert isinstance(following, SubmitSm) and following.destination_addr == "2"
        await smsc.send(SubmitSmResp(following.sequence_number, message_id="m2"))
        answer = await second.next()
        assert isinstance(answer, SubmitSmResp) and answer.message_id == "m2"
        await session.close()


async def test_a_pre_encoded_request_goes_out_under_the_sessions_sequence_number(
    raw_smsc: RawSmsc, clock: ManualClock
) -> None:
    session, smsc = await connected_client(raw_smsc, clock)
    pdu = SubmitSm(destination_addr="79161234567", short_message=b"hello")
    answers = Answers()
    async with smsc:
        sequence = session.send_request(pdu, answers, encode_pdu(pdu, 0x7FFF0000))
        request = await smsc.next_pdu()
        assert request == SubmitSm(
            sequence_number=sequence, destination_addr="79161234567", short_message=b"hello"
        )
        await session.close()


async def test_timeout_generic_nack_and_close_reach_the_callback(
    raw_smsc: RawSmsc, clock: ManualClock
) -> None:
    session, smsc = await connected_client(raw_smsc, clock)
    answers = Answers()
    async with smsc:
        session.send_request(SubmitSm(destination_addr="1"), answers)
        nacked = await smsc.next_pdu()
        await smsc.send(GenericNack(nacked.sequence_number, S.ESME_RTHROTTLED))
        nack = await answers.next()
        assert isinstance(nack, GenericNack) and nack.command_status == S.ESME_RTHROTTLED

        session.send_request(SubmitSm(destination_addr="2"), answers)
        await smsc.next_pdu()
        await clock.advance(31)
        assert isinstance(await answers.next(), SmppResponseTimeout)

        session.send_request(SubmitSm(destination_addr="3"), answers)
        await smsc.next_pdu()
    # The SMSC hung up with the third one in flight.
    assert isinstance(await answers.next(), SmppSessionClosed)
    assert len(answers.got) == 3  # each answered once
    with pytest.raises(SmppSessionClosed):
        session.send_request(SubmitSm(destination_addr="4"), answers)


async def test_a_failing_callback_does_not_stop_the_session_reading(
    raw_smsc: RawSmsc, clock: ManualClock
) -> None:
    session, smsc = await connected_client(raw_smsc, clock)

    def broken(outcome: Response | SmppError) -> None:
        raise RuntimeError("a bug in the caller")

    async with smsc:
        first = session.send_request(SubmitSm(destination_addr="1"), broken)
        await smsc.next_pdu()
        await smsc.send(SubmitSmResp(first, message_id="1"))
        answered = asyncio.ensure_future(session.submit_sm(SubmitSm(destination_addr="2")))
        request = await smsc.next_pdu()
        await smsc.send(SubmitSmResp(request.sequence_number, message_id="2"))
        assert (await asyncio.wait_for(answered, WAIT_S)).message_id == "2"
        await session.close()


class SelfAnswering(BaseHandler):
    """Answers submit_sm through ``session.answer`` (with a wrong sequence number, which the
    session corrects) and returns None."""

    async def handle_bind(self, session: SmppSession, pdu: Bind) -> BindResp:
        return pdu.resp(system_id="smsc")

    async def handle_submit_sm(self, session: SmppSession, pdu: SubmitSm) -> SubmitSmResp | None:
        session.answer(pdu, SubmitSmResp(0, message_id="own"))
        return None


@pytest.fixture
async def self_answering(clock: ManualClock) -> AsyncIterator[SmppListener]:
    settings = SessionSettings(enquire_link_interval_s=0, idle_timeout_s=0)
    async with SmppListener(SelfAnswering, clock, settings=settings) as listener:
        yield listener


async def test_a_handler_that_answered_by_itself_gets_exactly_its_answer_sent(
    self_answering: SmppListener,
) -> None:
    async with await RawPeer.connect(self_answering.port) as peer:
        await peer.send(BindTransceiver(sequence_number=1, system_id="a", password="b"))
        assert isinstance(await peer.next_pdu(), BindResp)
        await peer.send(SubmitSm(sequence_number=7, destination_addr="1"))
        await peer.send(SubmitSm(sequence_number=8, destination_addr="2"))
        answers = [await peer.next_pdu(), await peer.next_pdu()]
        assert answers == [SubmitSmResp(7, message_id="own"), SubmitSmResp(8, message_id="own")]

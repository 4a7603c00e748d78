"""SmppSession over real sockets on 127.0.0.1, timers driven by the manual clock (no sleeps)."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator

import pytest

from smsgate.protocols.smpp.constants import CommandStatus
from smsgate.protocols.smpp.errors import SmppError, SmppResponseTimeout
from smsgate.protocols.smpp.handler import BaseHandler
from smsgate.protocols.smpp.listener import SmppListener
from smsgate.protocols.smpp.pdu import (
    Bind,
    BindReceiver,
    BindResp,
    BindTransceiver,
    BindTransmitter,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
)
from smsgate.protocols.smpp.session import SessionSettings, SmppSession, open_session
from smsgate.protocols.smpp.states import BindState
from tests.protocols.smpp.raw import WAIT_S, RawPeer, RawSmsc, connected_client
from tests.support.clock import ManualClock

S = CommandStatus


class Smsc(BaseHandler):
    """A tiny SMSC: password "secret", message ids 1, 2, 3 …; ``gate`` holds submits when set."""

    def __init__(self) -> None:
        self.submitted: list[SubmitSm] = []
        self.gate: asyncio.Event | None = None
        self.closed = asyncio.Event()

    async def handle_bind(self, session: SmppSession, pdu: Bind) -> BindResp:
        if pdu.password != "secret":
            raise SmppError(S.ESME_RINVPASWD)
        return pdu.resp(system_id="smsgate")

    async def handle_submit_sm(self, session: SmppSession, pdu: SubmitSm) -> SubmitSmResp:
        if self.gate is not None:
            await self.gate.wait()
        self.submitted.append(pdu)
        return pdu.resp(message_id=str(len(self.submitted)))

    def session_closed(self, session: SmppSession) -> None:
        self.closed.set()


class Esme(BaseHandler):
    def __init__(self) -> None:
        self.delivered: list[DeliverSm] = []

    async def handle_deliver_sm(self, session: SmppSession, pdu: DeliverSm) -> DeliverSmResp:
        self.delivered.append(pdu)
        return pdu.resp()


class Smscs:
    def __init__(self) -> None:
        self.handlers: list[Smsc] = []
        self.gate: asyncio.Event | None = None

    def __call__(self) -> Smsc:
        handler = Smsc()
        handler.gate = self.gate
        self.handlers.append(handler)
        return handler


# As smsgate's server runs: no keep-alive of its own, the client's silence ends the session.
SETTINGS = SessionSettings(inbound_window=2, enquire_link_interval_s=0, idle_timeout_s=120)


@pytest.fixture
def smscs() -> Smscs:
    return Smscs()


@pytest.fixture
async def listener(smscs: Smscs, clock: ManualClock) -> AsyncIterator[SmppListener]:
    async with SmppListener(smscs, clock, settings=SETTINGS) as opened:
        yield opened


@pytest.fixture
async def peer(listener: SmppListener) -> AsyncIterator[RawPeer]:
    async with await RawPeer.connect(listener.port) as connected:
        yield connected


async def bind(peer: RawPeer, pdu: Bind | None = None) -> None:
    await peer.send(pdu or BindTransceiver(sequence_number=1, system_id="alice", password="secret"))
    response = await peer.next_pdu()
    assert isinstance(response, BindResp)
    assert response.command_status == S.ESME_ROK


async def test_our_client_binds_submits_receives_and_unbinds(
    listener: SmppListener, smscs: Smscs, clock: ManualClock
) -> None:
    esme = Esme()
    session = await open_session("127.0.0.1", listener.port, esme, clock=clock)
    async with session:
        bound = await session.bind(BindTransceiver(system_id="alice", password="secret"))
        assert (bound.system_id, session.state) == ("smsgate", BindState.BOUND_TRX)
        first = await session.submit_sm(
            SubmitSm(destination_addr="79161234567", short_message=b"a")
        )
        second = await session.submit_sm(SubmitSm(destination_addr="79161234567"))
        assert (first.message_id, second.message_id) == ("1", "2")
        assert isinstance(await session.enquire_link(), EnquireLinkResp)
        (server_side,) = listener.sessions
        assert server_side.system_id == "alice"
        reply = await server_side.deliver_sm(DeliverSm(source_addr="79161234567", esm_class=4))
        assert reply.command_status == S.ESME_ROK
        assert [d.source_addr for d in esme.delivered] == ["79161234567"]
    assert session.closed
    await asyncio.wait_for(smscs.handlers[0].closed.wait(), WAIT_S)


async def test_only_enquire_link_before_bind(peer: RawPeer) -> None:
    await peer.send(SubmitSm(sequence_number=1))
    assert await peer.next_pdu() == SubmitSmResp(1, S.ESME_RINVBNDSTS)
    await peer.send(EnquireLink(sequence_number=2))
    assert await peer.next_pdu() == EnquireLinkResp(2)


async def test_receiver_may_not_submit_and_may_not_bind_twice(peer: RawPeer) -> None:
    await bind(peer, BindReceiver(sequence_number=1, password="secret"))
    await peer.send(SubmitSm(sequence_number=2))
    assert await peer.next_pdu() == SubmitSmResp(2, S.ESME_RINVBNDSTS)
    await peer.send(BindTransmitter(sequence_number=3, password="secret"))
    response = await peer.next_pdu()
    assert (response.sequence_number, response.command_status) == (3, S.ESME_RALYBND)


async def test_refused_bind_is_answered_then_closed(peer: RawPeer) -> None:
    await peer.send(BindTransmitter(sequence_number=1, system_id="alice", password="wrong"))
    response = await peer.next_pdu()
    assert (type(response).__name__, response.command_status) == (
        "BindTransmitterResp",
        S.ESME_RINVPASWD,
    )
    assert await peer.closed_by_peer()


async def test_malformed_pdus_are_answered_and_the_session_goes_on(
    peer: RawPeer, smscs: Smscs
) -> None:
    await bind(peer)
    await peer.send(struct.pack(">IIII", 16, 0x00000999, 0, 2))
    assert await peer.next_pdu() == GenericNack(2, S.ESME_RINVCMDID)
    bad_source = b"\x00\x00\x00" + b"1" * 30 + b"\x00" + b"\x00" * 20
    await peer.send(struct.pack(">IIII", 16 + len(bad_source), 4, 0, 3) + bad_source)
    assert await peer.next_pdu() == SubmitSmResp(3, S.ESME_RINVSRCADR)
    await peer.send(SubmitSm(sequence_number=4, destination_addr="1"))
    assert await peer.next_pdu() == SubmitSmResp(4, message_id="1")


async def test_bad_command_length_is_nacked_and_closed(peer: RawPeer) -> None:
    await bind(peer)
    await peer.send(struct.pack(">IIII", 70_000, 4, 0, 5))
    assert await peer.next_pdu() == GenericNack(5, S.ESME_RINVCMDLEN)
    assert await peer.closed_by_peer()


async def test_saturated_handler_answers_message_queue_full(
    smscs: Smscs, listener: SmppListener
) -> None:
    smscs.gate = asyncio.Event()
    async with await RawPeer.connect(listener.port) as peer:
        await bind(peer)
        for sequence_number in (2, 3, 4):
            await peer.send(SubmitSm(sequence_number=sequence_number))
        assert await peer.next_pdu() == SubmitSmResp(4, S.ESME_RMSGQFUL)
        smscs.gate.set()
        answered = {await peer.next_pdu(), await peer.next_pdu()}
        assert answered == {SubmitSmResp(2, message_id="1"), SubmitSmResp(3, message_id="2")}


async def test_unbind_answers_what_is_in_flight_first(smscs: Smscs, listener: SmppListener) -> None:
    smscs.gate = asyncio.Event()
    async with await RawPeer.connect(listener.port) as peer:
        await bind(peer)
        await peer.send(SubmitSm(sequence_number=2))
        await peer.send(Unbind(sequence_number=3))
        smscs.gate.set()
        assert await peer.next_pdu() == SubmitSmResp(2, message_id="1")
        assert await peer.next_pdu() == UnbindResp(3)
        assert await peer.closed_by_peer()


async def test_idle_session_is_unbound(peer: RawPeer, clock: ManualClock) -> None:
    await bind(peer)
    await clock.advance(119)
    await peer.send(EnquireLink(sequence_number=2))  # traffic resets the idle timer
    assert await peer.next_pdu() == EnquireLinkResp(2)
    await clock.advance(119)
    await peer.send(EnquireLink(sequence_number=3))
    assert await peer.next_pdu() == EnquireLinkResp(3)
    await clock.advance(120)
    unbind = await peer.next_pdu()
    assert isinstance(unbind, Unbind)
    await peer.send(UnbindResp(unbind.sequence_number))
    assert await peer.closed_by_peer()


async def test_keep_alive_is_sent_and_an_unanswered_one_closes(
    smscs: Smscs, clock: ManualClock
) -> None:
    settings = SessionSettings(enquire_link_interval_s=30, response_timeout_s=10)
    async with (
        SmppListener(smscs, clock, settings=settings) as listener,
        await RawPeer.connect(listener.port) as peer,
    ):
        await bind(peer)
        await clock.advance(30)
        keep_alive = await peer.next_pdu()
        assert isinstance(keep_alive, EnquireLink)
        await peer.send(EnquireLinkResp(keep_alive.sequence_number))
        await peer.send(EnquireLink(sequence_number=2))  # its answer shows the one above was read
        assert await peer.next_pdu() == EnquireLinkResp(2)
        await clock.advance(30)
        assert isinstance(await peer.next_pdu(), EnquireLink)
        await clock.advance(11)
        assert await peer.closed_by_peer()


async def test_idle_unbind_without_answer_closes_after_the_unbind_timeout(
    peer: RawPeer, clock: ManualClock
) -> None:
    await bind(peer)
    await clock.advance(120)
    assert isinstance(await peer.next_pdu(), Unbind)
    await clock.advance(6)
    assert await peer.closed_by_peer()


async def test_unanswered_request_times_out(raw_smsc: RawSmsc, clock: ManualClock) -> None:
    session, smsc = await connected_client(raw_smsc, clock)
    async with smsc:
        submit = asyncio.ensure_future(session.submit_sm(SubmitSm(destination_addr="1")))
        request = await smsc.next_pdu()
        assert isinstance(request, SubmitSm)
        assert request.sequence_number == 2
        await clock.advance(31)
        with pytest.raises(SmppResponseTimeout):
            await asyncio.wait_for(submit, WAIT_S)
        await session.close()


async def test_generic_nack_fails_the_request(raw_smsc: RawSmsc, clock: ManualClock) -> None:
    session, smsc = await connected_client(raw_smsc, clock)
    async with smsc:
        submit = asyncio.ensure_future(session.submit_sm(SubmitSm(destination_addr="1")))
        request = await smsc.next_pdu()
        await smsc.send(GenericNack(request.sequence_number, S.ESME_RTHROTTLED))
        with pytest.raises(SmppError) as caught:
            await submit
        assert caught.value.status == S.ESME_RTHROTTLED
        await session.close()


async def test_peer_close_fails_requests_in_flight(raw_smsc: RawSmsc, clock: ManualClock) -> None:
    session, smsc = await connected_client(raw_smsc, clock)
    submit = asyncio.ensure_future(session.submit_sm(SubmitSm(destination_addr="1")))
    await smsc.next_pdu()
    async with smsc:
        pass
    with pytest.raises(SmppError):
        await asyncio.wait_for(submit, WAIT_S)
    await asyncio.wait_for(session.wait_closed(), WAIT_S)


async def test_client_may_not_submit_before_bind(
    listener: SmppListener, clock: ManualClock
) -> None:
    async with await open_session("127.0.0.1", listener.port, Esme(), clock=clock) as session:
        with pytest.raises(SmppError) as caught:
            await session.submit_sm(SubmitSm())
        assert caught.value.status == S.ESME_RINVBNDSTS
